"""Sessions: rotated at each sign-in step, ended by time, refused after sign-out."""

from datetime import timedelta

import pytest

from mfasite import clock
from mfasite.extensions import db
from mfasite.models import UserSession


@pytest.fixture
def signed_in(actions, user_with_totp, totp_code):
    """The TOTP user, signed in with both factors in `actions`' browser."""
    actions.signin()
    response = actions.challenge(totp_code(user_with_totp["secret"]))
    assert response.status_code == 303
    return actions


def _cookie(actions, name="session"):
    return actions.client.get_cookie(name).value


def _replay(new_browser, value, name="session"):
    """A browser that sends a cookie captured from another one."""
    browser = new_browser()
    browser.client.set_cookie(name, value)
    return browser.client


def _session_rows(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(UserSession.id)))


def test_cookie_from_before_the_second_factor_gives_no_access_after_it(
    actions, user_with_totp, totp_code, new_browser, app
):
    actions.signin()
    half_signed_in = _cookie(actions)

    assert actions.challenge(totp_code(user_with_totp["secret"])).status_code == 303

    assert _cookie(actions) != half_signed_in
    thief = _replay(new_browser, half_signed_in)
    assert thief.get("/").headers["Location"] == "/signin/challenge"
    assert thief.get("/signin/challenge").headers["Location"] == "/signin"
    assert thief.get("/account/security").status_code == 302
    assert _session_rows(app) == 1


def test_cookie_from_before_the_password_gives_no_access_after_it(
    actions, user_with_totp, totp_code, new_browser
):
    actions.client.get("/signin")
    anonymous = _cookie(actions)
    actions.signin()
    actions.challenge(totp_code(user_with_totp["secret"]))

    thief = _replay(new_browser, anonymous)

    assert thief.get("/").headers["Location"].startswith("/signin")


def test_cookie_replayed_after_signout_is_refused(signed_in, new_browser, app):
    signed_in_cookie = _cookie(signed_in)
    assert _replay(new_browser, signed_in_cookie).get("/").status_code == 200

    signed_in.signout()

    assert _replay(new_browser, signed_in_cookie).get("/").status_code == 302
    assert _session_rows(app) == 0


def test_session_survives_activity_within_the_idle_timeout(signed_in):
    for _ in range(3):
        clock.offset += timedelta(minutes=29)
        assert signed_in.client.get("/").status_code == 200


def test_session_ends_after_the_idle_timeout(signed_in, app):
    clock.offset += timedelta(minutes=31)

    response = signed_in.client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin")
    assert _session_rows(app) == 0


def test_session_ends_after_its_absolute_lifetime_despite_activity(signed_in, app):
    for _ in range(12 * 3 - 1):
        clock.offset += timedelta(minutes=20)
        assert signed_in.client.get("/").status_code == 200

    clock.offset += timedelta(minutes=21)
    response = signed_in.client.get("/")

    assert response.status_code == 302
    assert _session_rows(app) == 0


def test_idle_timeout_is_configurable(app, signed_in):
    app.config["SESSION_IDLE_TIMEOUT"] = 5 * 60
    clock.offset += timedelta(minutes=6)

    assert signed_in.client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax(actions, user_with_totp):
    response = actions.signin()

    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
