"""With the rate-limit storage unreachable: passwords still work, codes do not."""

from datetime import timedelta

import pytest
from support import PASSWORD, totp_now

from mfasite import clock, messages
from mfasite.extensions import db
from mfasite.models import (
    PendingSignIn,
    RecoveryCode,
    SmsDevice,
    TotpDevice,
    UserSession,
)


@pytest.fixture
def config_overrides():
    # Nothing listens on port 1 of loopback: every storage call fails at once.
    return {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}


def _assert_unavailable(response):
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert messages.LIMITS_UNAVAILABLE in response.get_data(as_text=True)


def test_signin_password_step_works_without_limit_storage(actions, app):
    actions.signup()
    actions.signout()

    response = actions.signin()

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(UserSession.id))) == 1


def test_challenge_refused_without_limit_storage(actions, user_with_totp, app):
    assert actions.signin().status_code == 303
    with app.app_context():
        step_before = db.session.scalar(db.select(TotpDevice.last_used_step))

    response = actions.challenge(totp_now(user_with_totp["secret"]))

    _assert_unavailable(response)
    with app.app_context():
        assert db.session.scalar(db.select(TotpDevice.last_used_step)) == step_before
        assert db.session.scalar(db.select(PendingSignIn.failed_attempts)) == 0
        assert db.session.scalar(db.select(db.func.count(UserSession.id))) == 0
    assert actions.client.get("/signin/challenge").status_code == 200


def test_backup_code_not_consumed_without_limit_storage(actions, user_with_totp, app):
    actions.signin()

    response = actions.challenge(user_with_totp["backup_codes"][0], method="backup")

    _assert_unavailable(response)
    with app.app_context():
        used = db.session.scalar(
            db.select(db.func.count(RecoveryCode.id)).where(
                RecoveryCode.used_at.is_not(None)
            )
        )
    assert used == 0


def test_reauthenticate_refused_without_limit_storage(actions, app):
    actions.signup()
    secret, _ = actions.enroll_totp()
    clock.offset += timedelta(minutes=20)
    with app.app_context():
        checked_before = db.session.scalar(db.select(UserSession.authenticated_at))

    response = actions.client.post_form(
        "/account/security/reauthenticate",
        {"password": PASSWORD, "code": totp_now(secret)},
        token_from="/account/security",
    )

    _assert_unavailable(response)
    with app.app_context():
        assert db.session.scalar(db.select(UserSession.authenticated_at)) == (
            checked_before
        )


def test_sms_enrollment_text_refused_without_limit_storage(app, actions, sms):
    actions.signup()

    response = sms.start()

    _assert_unavailable(response)
    assert response.get_data(as_text=True).startswith('<div class="modal-step"')
    assert app.extensions["mfasite.sms_sender"].outbox == []
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(SmsDevice.id))) == 0
