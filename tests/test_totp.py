"""Authenticator app: enrollment with a QR code, and codes at sign-in (RFC 6238)."""

import re
from datetime import timedelta
from functools import partial

import pytest
from cryptography.fernet import Fernet
from support import at_once, pending_browsers, rows, text, totp_now

from mfasite import clock, events, messages
from mfasite.mfa import crypto, totp
from mfasite.models import (
    PendingSignIn,
    RecoveryCode,
    SecurityEvent,
    TotpDevice,
    User,
    UserSession,
)

ENROLL = "/account/security/authenticator"
VERIFY = "/account/security/authenticator/verify"
_SVG = re.compile(r"<svg.*?</svg>", re.S)


def _user(app):
    (user,) = rows(app, User)
    return user


def _pending(app):
    (pending,) = rows(app, PendingSignIn)
    return pending


def _sign_in(actions, secret, steps=0):
    actions.signin()
    return actions.challenge(totp_now(secret, steps))


def _signed_in(response):
    return response.status_code == 303 and response.headers["Location"] == "/"


# Enrollment, step 1


def test_enroll_shows_qr_code_for_site_and_email(client, actions):
    actions.signup()

    page = client.get(ENROLL).get_data(True)

    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    uri = f"otpauth://totp/mfasite:ada%40example.com?secret={secret}&issuer=mfasite"
    assert totp.provisioning_uri(secret, "ada@example.com", "mfasite") == uri
    # The inline SVG is the QR code of exactly that URI; no image is fetched.
    assert _SVG.search(page).group(0) == _SVG.search(totp.qr_svg(uri)).group(0)
    assert "<img" not in page
    assert "Step 1 of 2" in page
    assert ">Continue</a>" in page


def test_enroll_secret_has_160_bits_and_is_new_each_time(client, actions):
    actions.signup()

    first = actions.start_totp()
    second = actions.start_totp()

    assert len(first) == len(second) == 32  # 32 base32 characters = 160 bits
    assert first != second


def test_enroll_stores_secret_encrypted_and_not_in_cookie(client, app, actions):
    actions.signup()

    secret = actions.start_totp()

    (device,) = rows(app, TotpDevice)
    assert device.confirmed_at is None
    assert secret not in device.secret_encrypted
    with app.app_context():
        assert crypto.decrypt(device.secret_encrypted) == secret
    assert secret not in client.session_cookie()
    assert secret not in repr(client.session_data())


class TestSiteName:
    @pytest.fixture
    def config_overrides(self):
        return {"SITE_NAME": "Acme Portal"}

    def test_enroll_labels_qr_code_with_configured_site_name(self, client, actions):
        actions.signup()

        page = client.get(ENROLL).get_data(True)

        secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
        uri = (
            "otpauth://totp/Acme%20Portal:ada%40example.com"
            f"?secret={secret}&issuer=Acme%20Portal"
        )
        assert _SVG.search(page).group(0) == _SVG.search(totp.qr_svg(uri)).group(0)
        assert "Acme Portal: ada@example.com" in page


# Enrollment, step 2


def test_verify_step_has_code_field(client, actions):
    actions.signup()
    actions.start_totp()

    page = client.get(VERIFY).get_data(True)

    assert "Step 2 of 2" in page
    assert '<label for="code">Code</label>' in page
    assert ">Verify</button>" in page


def test_verify_with_right_code_activates_method(client, app, actions):
    actions.signup()
    secret = actions.start_totp()

    response = actions.verify_totp(totp_now(secret))

    assert response.status_code == 200
    assert "Authenticator app is now active." in text(response)
    (device,) = rows(app, TotpDevice)
    assert device.confirmed_at is not None
    assert _user(app).preferred_method == "totp"
    assert events.METHOD_ADDED in rows(app, SecurityEvent.kind)


def test_verify_accepts_code_typed_with_space(client, app, actions):
    actions.signup()
    secret = actions.start_totp()
    code = totp_now(secret)

    response = actions.verify_totp(f"{code[:3]} {code[3:]}")

    assert response.status_code == 200
    assert _user(app).preferred_method == "totp"


@pytest.mark.parametrize(
    "code", ["000000", "12345", "1234567", "abcdef", "１２３４５６"]
)
def test_verify_with_wrong_code_changes_nothing(client, app, actions, code):
    actions.signup()
    secret = actions.start_totp()
    if code == "000000" and totp_now(secret) == code:
        code = "000001"

    response = actions.verify_totp(code)

    assert response.status_code == 400
    assert messages.INVALID_CODE in text(response)
    (device,) = rows(app, TotpDevice)
    assert device.confirmed_at is None and device.last_used_step is None
    assert _user(app).preferred_method is None
    assert rows(app, RecoveryCode) == []


def test_verify_with_empty_code_changes_nothing(client, app, actions):
    actions.signup()
    actions.start_totp()

    response = actions.verify_totp("")

    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert rows(app, TotpDevice)[0].confirmed_at is None


def test_verify_without_first_step_asks_to_start_again(client, app, actions):
    actions.signup()

    for response in (client.get(VERIFY), actions.verify_totp("123456")):
        assert response.status_code == 409
        assert messages.ENROLLMENT_NOT_STARTED in text(response)
        assert f'href="{ENROLL}"' in response.get_data(True)
    assert rows(app, TotpDevice) == []
    assert _user(app).preferred_method is None


def test_verify_again_after_enrollment_asks_to_start_again(client, app, actions):
    actions.signup()
    secret, _ = actions.enroll_totp()

    response = actions.verify_totp(totp_now(secret, 1))

    assert response.status_code == 409
    assert messages.ENROLLMENT_NOT_STARTED in text(response)
    assert len(rows(app, TotpDevice)) == 1


# Changing an existing authenticator


def test_abandoned_enrollment_keeps_existing_method(
    client, app, actions, user_with_totp
):
    old = user_with_totp["secret"]
    _sign_in(actions, old)
    new = actions.start_totp()
    actions.signout()
    clock.offset += timedelta(seconds=30)

    refused = _sign_in(actions, new)
    accepted = actions.challenge(totp_now(old))

    assert refused.status_code == 400
    assert _signed_in(accepted)
    confirmed = [d for d in rows(app, TotpDevice) if d.confirmed_at is not None]
    assert len(confirmed) == 1
    with app.app_context():
        assert crypto.decrypt(confirmed[0].secret_encrypted) == old


def test_enrolling_new_authenticator_replaces_old_once_verified(
    client, app, actions, user_with_totp
):
    old = user_with_totp["secret"]
    _sign_in(actions, old)
    new = actions.start_totp()

    response = actions.verify_totp(totp_now(new))

    # Backup codes are left alone when some remain: the dialog just closes.
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/security"
    (device,) = rows(app, TotpDevice)
    with app.app_context():
        assert crypto.decrypt(device.secret_encrypted) == new
    actions.signout()
    clock.offset += timedelta(seconds=30)
    assert _sign_in(actions, old).status_code == 400
    assert _signed_in(actions.challenge(totp_now(new)))


# Codes at sign-in


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_challenge_accepts_adjacent_steps(
    client, actions, user_with_totp, mid_step, steps
):
    # One more step, so that "one step back" is still after the enrollment code.
    clock.offset += timedelta(seconds=30)

    response = _sign_in(actions, user_with_totp["secret"], steps)

    assert _signed_in(response)


@pytest.mark.parametrize("steps", [-2, 2])
def test_challenge_refuses_codes_two_steps_away(
    client, app, actions, user_with_totp, mid_step, steps
):
    clock.offset += timedelta(seconds=60)

    response = _sign_in(actions, user_with_totp["secret"], steps)

    assert response.status_code == 400
    assert messages.INVALID_CODE in text(response)
    assert _pending(app).failed_attempts == 1
    assert rows(app, UserSession) == []


def test_challenge_refuses_replayed_code(
    client, app, actions, user_with_totp, mid_step
):
    secret = user_with_totp["secret"]
    code = totp_now(secret)
    assert _signed_in(_sign_in(actions, secret))
    actions.signout()
    actions.signin()

    again = actions.challenge(code)
    clock.offset += timedelta(seconds=30)
    later = actions.challenge(code)

    for response in (again, later):
        assert response.status_code == 400
        assert messages.INVALID_CODE in text(response)
    assert _pending(app).failed_attempts == 2
    assert len(rows(app, UserSession)) == 0


def test_challenge_refuses_code_used_for_enrollment(client, actions, mid_step):
    actions.signup()
    secret = actions.start_totp()
    code = totp_now(secret)
    actions.verify_totp(code)
    actions.signout()

    actions.signin()
    response = actions.challenge(code)

    assert response.status_code == 400
    assert messages.INVALID_CODE in text(response)


def test_challenge_refuses_earlier_step_after_later_one(
    client, app, actions, user_with_totp, mid_step
):
    secret = user_with_totp["secret"]
    clock.offset += timedelta(seconds=30)
    assert _signed_in(_sign_in(actions, secret, 1))
    actions.signout()

    response = _sign_in(actions, secret, 0)

    assert response.status_code == 400
    assert messages.INVALID_CODE in text(response)


def test_same_code_in_two_browsers_at_once_succeeds_once(
    app, actions, user_with_totp, mid_step
):
    code = totp_now(user_with_totp["secret"])
    browsers = pending_browsers(app, 2, "/signin/challenge")

    responses = at_once(
        *(
            partial(
                browser.post,
                "/signin/challenge",
                data={"csrf_token": token, "code": code},
            )
            for browser, token in browsers
        )
    )

    assert sorted(response.status_code for response in responses) == [303, 400]
    assert len(rows(app, UserSession)) == 1
    assert len(rows(app, PendingSignIn)) == 1


def test_secret_still_works_after_encryption_key_rotation(
    client, app, actions, user_with_totp
):
    old_key = app.config["MFA_ENCRYPTION_KEYS"]
    new_key = Fernet.generate_key().decode()
    app.config["MFA_ENCRYPTION_KEYS"] = f"{new_key},{old_key}"

    response = _sign_in(actions, user_with_totp["secret"])

    assert _signed_in(response)
    # A secret enrolled now is encrypted with the new key alone.
    secret = actions.start_totp()
    pending = [d for d in rows(app, TotpDevice) if d.confirmed_at is None][0]
    assert Fernet(new_key.encode()).decrypt(pending.secret_encrypted.encode()) == (
        secret.encode()
    )


@pytest.mark.parametrize(
    "code", ["12345", "1234567", "abcdef", "12-34-5", "١٢٣٤٥٦", "１２３４５６"]
)
def test_challenge_refuses_malformed_code(client, app, actions, user_with_totp, code):
    actions.signin()

    response = actions.challenge(code)

    assert response.status_code == 400
    assert messages.INVALID_CODE in text(response)
    assert _pending(app).failed_attempts == 1
    assert rows(app, UserSession) == []


@pytest.mark.parametrize("code", ["", "   "])
def test_challenge_refuses_empty_code(client, app, actions, user_with_totp, code):
    actions.signin()

    response = actions.challenge(code)

    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert _pending(app).failed_attempts == 0
    assert rows(app, UserSession) == []


def test_challenge_accepts_code_with_spaces_and_dashes(client, actions, user_with_totp):
    code = totp_now(user_with_totp["secret"])
    actions.signin()

    response = actions.challenge(f" {code[:3]}-{code[3:]} ")

    assert _signed_in(response)


def test_challenge_failure_records_event(client, app, actions, user_with_totp):
    actions.signin()

    actions.challenge("000000")

    failures = rows(
        app, SecurityEvent.detail, SecurityEvent.kind == events.SECOND_FACTOR_FAILED
    )
    assert failures == ["Authenticator app"]
