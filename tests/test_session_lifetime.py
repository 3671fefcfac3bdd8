"""Session lifetime: an absolute limit, a configurable idle timeout, cookie flags."""

from datetime import timedelta

import pytest
from support import totp_now

from mfasite import clock
from mfasite.extensions import db
from mfasite.models import UserSession


@pytest.fixture
def signed_in(actions, user_with_totp):
    """The TOTP user, signed in with both factors in `actions`' browser."""
    actions.signin()
    response = actions.challenge(totp_now(user_with_totp["secret"]))
    assert response.status_code == 303
    return actions


def _session_rows(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(UserSession.id)))


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
