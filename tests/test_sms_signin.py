"""Signing in with a texted code: one text per sign-in, and each code's limits."""

import html
from datetime import timedelta

import pytest
from sms_support import (
    MASKED,
    PASSWORD,
    PHONE,
    SECURITY,
    last_code,
    later,
    opt_out_directly,
    outbox,
    sends,
    totp_now,
    wrong,
)

from mfasite import clock, messages
from mfasite.extensions import db
from mfasite.mfa import crypto
from mfasite.mfa import sms as sms_codes
from mfasite.mfa.errors import CodeExpired, CodeReplayed, InvalidCode
from mfasite.models import PendingSignIn, SmsDevice, SmsOptOut, User

OPTED_OUT = (
    "You have opted out of SMS. Use a backup code, or text START to the number "
    "your codes come from."
)
OPTED_OUT_BAR = "Your phone number has opted out of our texts."


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _pending(app):
    with app.app_context():
        return db.session.scalars(db.select(PendingSignIn)).all()


def test_signin_texts_the_code_and_asks_for_it(app, sms, user_with_sms):
    response = sms.signin()

    page = _text(response)
    assert response.status_code == 200
    assert f"Enter the 6-digit code we sent to {MASKED}." in page
    assert 'name="code"' in page and "Use a backup code" in page
    assert [message.to for message in outbox(app)] == [PHONE, PHONE]
    [pending] = _pending(app)
    code = last_code(app)
    assert pending.sms_sent_at is not None
    assert pending.sms_code_hmac not in (None, code)
    with app.app_context():
        assert pending.sms_code_hmac == crypto.code_hmac(code)


def test_signin_reload_back_and_repost_send_nothing_more(
    app, client, sms, user_with_sms
):
    sms.signin()
    code = last_code(app)

    sms.come_back(code)

    assert len(outbox(app)) == 2
    assert sends(app) == 2
    assert sms.actions.challenge(code).status_code == 303


def test_signin_right_code_signs_in(app, client, sms, user_with_sms):
    sms.signin()

    response = sms.actions.challenge(last_code(app))

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "You are signed in as <strong>ada@example.com" in _text(client.get("/"))
    assert _pending(app) == []


def test_signin_wrong_code_is_refused_with_the_common_message(app, sms, user_with_sms):
    sms.signin()

    response = sms.actions.challenge(wrong(last_code(app)))

    assert response.status_code == 400
    assert messages.INVALID_CODE in _text(response)
    assert f"Enter the 6-digit code we sent to {MASKED}." in _text(response)
    [pending] = _pending(app)
    assert pending.failed_attempts == 1


def test_signin_five_wrong_codes_void_the_sign_in(app, client, sms, user_with_sms):
    sms.signin()
    code = last_code(app)

    for _ in range(4):
        assert sms.actions.challenge(wrong(code)).status_code == 400
    fifth = sms.actions.challenge(wrong(code))
    flashed = _text(client.get("/signin"))
    right = client.post_form("/signin/challenge", {"code": code}, token_from="/signin")

    assert fifth.status_code == 303 and fifth.headers["Location"] == "/signin"
    assert messages.TOO_MANY_ATTEMPTS in flashed
    assert right.status_code in (302, 303)
    assert right.headers["Location"].startswith("/signin")
    assert _pending(app) == []
    assert len(outbox(app)) == 2


def test_signin_code_from_another_sign_in_never_works(app, sms, user_with_sms):
    other = app.test_client()
    sms.signin()
    first = last_code(app)
    other.post_form("/signin", {"email": "ada@example.com", "password": PASSWORD})
    other.get("/signin/challenge")
    second = last_code(app)
    if first == second:
        pytest.skip("two random codes happened to be equal")

    response = sms.actions.challenge(second)

    assert response.status_code == 400
    assert messages.INVALID_CODE in _text(response)
    assert sms.actions.challenge(first).status_code == 303


class TestShortCodeLifetime:
    @pytest.fixture
    def config_overrides(self):
        return {"SMS_CODE_TTL": 120}

    def test_signin_code_expires(self, app, sms, user_with_sms):
        sms.signin()
        later(2)

        response = sms.actions.challenge(last_code(app))

        assert response.status_code == 400
        assert messages.INVALID_CODE in _text(response)


def test_signin_hourly_cap_counts_texts_across_sign_ins(
    app, client, sms, user_with_sms
):
    for _ in range(4):
        sms.signin()
        client.post_form("/signin/cancel", token_from="/signin/challenge")

    response = sms.signin()

    page = _text(response)
    assert len(outbox(app)) == 5 and sends(app) == 5
    assert (
        "Too many codes were sent to your number in the last hour. Use a backup "
        "code, or try again later." in page
    )
    assert 'name="code"' not in page
    backup = sms.actions.challenge(user_with_sms["backup_codes"][0], method="backup")
    assert backup.status_code == 303


def test_signin_opted_out_number_gets_no_text(app, client, sms, user_with_sms):
    opt_out_directly(app)

    response = sms.signin()
    reload = client.get("/signin/challenge")

    assert OPTED_OUT in _text(response) and OPTED_OUT in _text(reload)
    assert 'name="code"' not in _text(response)
    assert len(outbox(app)) == 1 and sends(app) == 1
    [pending] = _pending(app)
    assert pending.sms_sent_at is None


def test_signin_opted_out_user_sees_bar_until_sms_is_back(
    app, client, sms, user_with_sms
):
    opt_out_directly(app)
    sms.signin()

    sms.actions.challenge(user_with_sms["backup_codes"][0], method="backup")
    home = _text(client.get("/"))
    security = _text(client.get(SECURITY))
    with app.app_context():
        db.session.execute(db.delete(SmsOptOut))
        db.session.commit()
    still = _text(client.get("/"))
    refreshed = _text(client.get(SECURITY))
    after = _text(client.get("/"))

    assert OPTED_OUT_BAR in home and "Set up another method" in home
    row = security[
        security.index('id="method-sms"') : security.index('id="method-totp"')
    ]
    assert "Opted out" in row
    # Decided at sign-in and refreshed by the Security page, not on every page.
    assert OPTED_OUT_BAR in still
    assert OPTED_OUT_BAR not in refreshed and OPTED_OUT_BAR not in after


def test_signin_bar_not_shown_to_users_with_another_method(client, user_with_totp):
    client.post_form("/signin", {"email": "ada@example.com", "password": PASSWORD})
    client.post_form(
        "/signin/challenge",
        {"code": totp_now(user_with_totp["secret"])},
        token_from="/signin/challenge",
    )

    assert OPTED_OUT_BAR not in _text(client.get("/"))


class TestWithoutSender:
    @pytest.fixture
    def config_overrides(self):
        return {"SMS_BACKEND": "none"}

    def test_signin_says_sms_is_unavailable(self, app, client, actions):
        actions.signup()
        with app.app_context():
            user = db.session.scalar(db.select(User))
            db.session.add(
                SmsDevice(user_id=user.id, phone_e164=PHONE, confirmed_at=clock.now())
            )
            user.preferred_method = "sms"
            db.session.commit()
        actions.signout()

        actions.signin()
        response = client.get("/signin/challenge")

        assert (
            "Text message codes are not available right now. Use a backup code."
            in _text(response)
        )
        assert 'name="code"' not in _text(response)


def _pending_with_code(app, code, ttl=timedelta(minutes=10)):
    user = User(email="bob@example.com", password_hash="x")
    db.session.add(user)
    db.session.flush()
    pending = PendingSignIn(
        id="p1",
        user_id=user.id,
        expires_at=clock.now() + ttl,
        sms_code_hmac=crypto.code_hmac(code),
        sms_code_expires_at=clock.now() + ttl,
        sms_sent_at=clock.now(),
    )
    db.session.add(pending)
    db.session.commit()
    return pending


def test_verify_signin_code_accepts_a_code_once(app):
    with app.app_context():
        pending = _pending_with_code(app, "012345")

        sms_codes.verify_signin_code(pending, "012345")
        # A second request that loaded the row before the first used it.
        pending.sms_code_hmac = crypto.code_hmac("012345")
        with pytest.raises(CodeReplayed):
            sms_codes.verify_signin_code(pending, "012345")


def test_verify_signin_code_refuses_wrong_and_expired(app):
    with app.app_context():
        pending = _pending_with_code(app, "000007")

        with pytest.raises(InvalidCode):
            sms_codes.verify_signin_code(pending, "7")
        with pytest.raises(InvalidCode):
            sms_codes.verify_signin_code(pending, "000008")
        later(11)
        with pytest.raises(CodeExpired):
            sms_codes.verify_signin_code(pending, "000007")


def test_new_code_is_six_digits_with_leading_zeros_possible(app):
    codes = {sms_codes.new_code() for _ in range(2000)}

    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert any(code.startswith("0") for code in codes)
