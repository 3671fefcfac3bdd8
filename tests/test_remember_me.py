"""Keep me signed in: only after the second factor, and bound to its session."""

from datetime import timedelta

import pytest
from support import totp_now

from mfasite import clock
from mfasite.extensions import db
from mfasite.models import UserSession

REMEMBER = "remember_token"


def _signin(actions, user, remember):
    actions.signin(user["email"])
    data = {"code": totp_now(user["secret"])}
    if remember:
        data["remember"] = "y"
    response = actions.client.post_form(
        "/signin/challenge", data, token_from="/signin/challenge"
    )
    assert response.status_code == 303
    return response


@pytest.fixture
def remembered(actions, user_with_totp):
    """The TOTP user signed in with the box ticked; returns the remember cookie."""
    _signin(actions, user_with_totp, remember=True)
    return actions.client.get_cookie(REMEMBER).value


def _restarted_browser(new_browser, remember_cookie):
    """A browser restart: the session cookie is gone, the remember cookie stays."""
    browser = new_browser()
    browser.client.set_cookie(REMEMBER, remember_cookie)
    return browser.client


def test_challenge_page_offers_keep_me_signed_in(actions, user_with_totp):
    actions.signin()

    page = actions.client.get("/signin/challenge").get_data(as_text=True)

    assert 'name="remember" type="checkbox"' in page
    assert "Keep me signed in on this device" in page
    assert "For 30 days, or until you sign out." in page


def test_remember_cookie_signs_in_after_a_browser_restart(remembered, new_browser, app):
    client = _restarted_browser(new_browser, remembered)

    assert client.get("/").status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(UserSession.remembered)) is True


def test_remembered_session_outlives_the_idle_timeout(remembered, new_browser):
    clock.offset += timedelta(days=3)

    assert _restarted_browser(new_browser, remembered).get("/").status_code == 200


def test_remembered_session_ends_after_its_lifetime(remembered, new_browser, app):
    clock.offset += timedelta(days=30, minutes=1)

    assert _restarted_browser(new_browser, remembered).get("/").status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(UserSession.id))) == 0


def test_remember_cookie_void_after_signout(remembered, actions, new_browser):
    response = actions.signout()

    assert any(
        value.startswith(f"{REMEMBER}=;")
        for value in response.headers.getlist("Set-Cookie")
    )
    assert _restarted_browser(new_browser, remembered).get("/").status_code == 302


def test_remember_cookie_void_after_mfa_reset(remembered, runner, new_browser):
    result = runner.invoke(
        args=["mfa", "reset", "ada@example.com", "--reason", "lost phone"]
    )

    assert result.exit_code == 0
    assert _restarted_browser(new_browser, remembered).get("/").status_code == 302


def test_remember_cookie_void_after_ending_all_sessions(
    remembered, actions, new_browser
):
    actions.client.post_form(
        "/account/security/sessions/end-all", token_from="/account/security"
    )

    assert _restarted_browser(new_browser, remembered).get("/").status_code == 302


def test_unticked_box_sets_no_remember_cookie(actions, user_with_totp, app):
    response = _signin(actions, user_with_totp, remember=False)

    assert REMEMBER not in " ".join(response.headers.getlist("Set-Cookie"))
    with app.app_context():
        assert db.session.scalar(db.select(UserSession.remembered)) is False
    clock.offset += timedelta(minutes=31)
    assert actions.client.get("/").status_code == 302


def test_signin_without_second_factor_is_never_remembered(actions, app):
    actions.signup()
    actions.signout()

    response = actions.client.post_form(
        "/signin",
        {
            "email": "ada@example.com",
            "password": "correct horse battery",
            "remember": "y",
        },
    )

    assert response.status_code == 303
    assert REMEMBER not in " ".join(response.headers.getlist("Set-Cookie"))
    with app.app_context():
        assert db.session.scalar(db.select(UserSession.remembered)) is False


def test_remember_cookie_is_httponly_and_samesite_lax(actions, user_with_totp):
    response = _signin(actions, user_with_totp, remember=True)

    cookie = next(
        value
        for value in response.headers.getlist("Set-Cookie")
        if value.startswith(REMEMBER)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
