"""SMS enrollment on the Password & Security page, and SMS at re-authentication."""

import html
import re

import pytest
from sms_support import (
    MASKED,
    OTHER_PHONE,
    PASSWORD,
    PHONE,
    SECURITY,
    TYPED,
    count,
    devices,
    last_code,
    later,
    opt_out_directly,
    outbox,
    sends,
    totp_now,
    wrong,
)

from mfasite import messages
from mfasite.extensions import db
from mfasite.models import SecurityEvent, User


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _preferred(app):
    with app.app_context():
        return db.session.scalar(db.select(User.preferred_method))


def test_enroll_dialog_states_the_program_terms(client, actions):
    actions.signup()

    response = client.get(
        f"{SECURITY}/sms", headers={"HX-Request": "true", "HX-Target": "modal-root"}
    )

    page = _text(response)
    assert response.status_code == 200
    assert "<dialog" in page and "Set up text message codes" in page
    assert re.findall(r"<option[^>]*>([^<]*)</option>", page) == ["+1 (US, Canada)"]
    for term in (
        "mfasite sign-in codes",
        "at most 1 message per sign-in",
        "Message and data rates may apply",
        "Reply HELP for help, STOP to opt out",
        "weakest",
    ):
        assert term in page
    assert f'href="{SECURITY}#method-totp"' in page
    assert f'href="{SECURITY}#method-webauthn"' in page


def test_enroll_texts_a_code_and_asks_for_it(app, actions, sms):
    actions.signup()

    response = sms.start(TYPED)

    assert response.status_code == 200
    assert f"Enter the 6-digit code we sent to {MASKED}." in _text(response)
    [message] = outbox(app)
    assert message.to == PHONE
    assert re.fullmatch(
        r"mfasite verification code: \d{6}\. Reply HELP for help, STOP to opt out\.",
        message.body,
    )
    assert len(message.body) <= 160
    assert devices(app) == [(PHONE, False)]
    assert _preferred(app) is None


def test_enroll_right_code_activates_the_number(app, actions, sms):
    actions.signup()
    sms.start()

    response = sms.verify(last_code(app))

    assert response.status_code == 200
    page = _text(response)
    assert "SMS code is now active." in page
    assert len(re.findall(r"<li><code>", page)) == 10
    assert devices(app) == [(PHONE, True)]
    assert _preferred(app) == "sms"
    assert count(app, SecurityEvent, kind="method_added", detail="SMS code") == 1


def test_enroll_accepts_code_typed_with_spaces(app, actions, sms):
    actions.signup()
    sms.start()
    code = last_code(app)

    response = sms.verify(f"{code[:3]} {code[3:]}")

    assert response.status_code == 200
    assert devices(app) == [(PHONE, True)]


def test_enroll_wrong_code_is_refused(app, actions, sms):
    actions.signup()
    sms.start()

    response = sms.verify(wrong(last_code(app)))

    assert response.status_code == 400
    assert messages.INVALID_CODE in _text(response)
    assert devices(app) == [(PHONE, False)]
    assert _preferred(app) is None


def test_enroll_five_wrong_codes_void_the_code(app, actions, sms):
    actions.signup()
    sms.start()
    code = last_code(app)

    for _ in range(4):
        assert messages.INVALID_CODE in _text(sms.verify(wrong(code)))
    fifth = sms.verify(wrong(code))
    right = sms.verify(code)

    assert fifth.status_code == 400
    assert messages.SMS_ENROLL_TOO_MANY in _text(fifth)
    assert right.status_code == 409
    assert messages.ENROLLMENT_NOT_STARTED in _text(right)
    assert devices(app) == [(PHONE, False)]
    assert _preferred(app) is None


def test_enroll_code_expires_after_ten_minutes(app, actions, sms):
    actions.signup()
    sms.start()
    code = last_code(app)
    later(10)

    response = sms.verify(code)

    assert response.status_code == 400
    assert messages.INVALID_CODE in _text(response)
    assert devices(app) == [(PHONE, False)]


def test_enroll_code_from_an_earlier_attempt_fails(app, actions, sms):
    actions.signup()
    sms.start()
    first = last_code(app)
    sms.start()
    second = last_code(app)
    if first == second:
        pytest.skip("two random codes happened to be equal")

    assert sms.verify(first).status_code == 400
    assert sms.verify(second).status_code == 200


def test_enroll_verify_without_start_asks_to_start_again(actions, sms):
    actions.signup()

    response = sms.verify("123456")

    assert response.status_code == 409
    assert messages.ENROLLMENT_NOT_STARTED in _text(response)


def test_enroll_changed_number_replaces_the_old_only_once_confirmed(app, actions, sms):
    actions.signup()
    sms.enroll()

    sms.start("(202) 555-0143")
    between = devices(app)
    sms.verify(last_code(app, OTHER_PHONE))

    assert between == [(PHONE, True), (OTHER_PHONE, False)]
    assert devices(app) == [(OTHER_PHONE, True)]
    assert _preferred(app) == "sms"


def test_enroll_opted_out_number_is_refused(app, actions, sms):
    actions.signup()
    opt_out_directly(app)

    response = sms.start()

    assert response.status_code == 400
    assert (
        "This number has opted out of our texts. Text START to the number your "
        "codes come from, then try again." in _text(response)
    )
    assert outbox(app) == [] and devices(app) == [] and sends(app) == 0


class TestHourlyCap:
    @pytest.fixture
    def config_overrides(self):
        # Stay signed in and freshly authenticated across the hour.
        return {"SESSION_IDLE_TIMEOUT": 7200, "REAUTH_MAX_AGE": 7200}

    def test_enroll_hourly_cap_per_number(self, app, actions, sms):
        actions.signup()
        for _ in range(5):
            assert sms.start().status_code == 200

        capped = sms.start()
        later(61)
        again = sms.start()

        assert capped.status_code == 400
        assert (
            "Too many codes were sent to this number in the last hour. "
            "Try again later." in _text(capped)
        )
        assert again.status_code == 200
        assert len(outbox(app)) == 6
        assert sends(app) == 1


class TestProgramNumber:
    @pytest.fixture
    def config_overrides(self):
        return {"SMS_PROGRAM_NUMBER": "+12025550100"}

    def test_enroll_opted_out_names_the_number_to_text(self, app, actions, sms):
        actions.signup()
        opt_out_directly(app)

        response = sms.start()

        assert (
            "This number has opted out of our texts. Text START to (202) 555-0100, "
            "then try again." in _text(response)
        )


class TestWithoutSender:
    @pytest.fixture
    def config_overrides(self):
        return {"SMS_BACKEND": "none"}

    def test_security_page_shows_sms_unavailable(self, client, actions):
        actions.signup()

        page = _text(client.get(SECURITY))

        row = page[page.index('id="method-sms"') : page.index('id="method-totp"')]
        assert "Unavailable" in row and "disabled" in row
        assert 'hx-get="/account/security/sms"' not in row

    def test_enroll_says_sms_is_unavailable(self, app, actions, sms):
        actions.signup()

        response = sms.start()

        assert response.status_code == 503
        assert "Text message codes are not available on this site." in _text(response)
        assert devices(app) == []

    def test_outbox_page_does_not_exist(self, client):
        assert client.get("/dev/outbox").status_code == 404


# Re-authentication for a user whose only method is SMS.


def _signed_in_with_sms(app, sms, user_with_sms):
    sms.signin()
    response = sms.actions.challenge(last_code(app))
    assert response.status_code == 303
    # Past the re-authentication window: changing MFA asks again.
    later(16)


def _reauth(client, password=PASSWORD, code=""):
    return client.post_form(
        f"{SECURITY}/reauthenticate",
        {"password": password, "code": code, "next": f"{SECURITY}/sms"},
        token_from=SECURITY,
        htmx=True,
    )


def _send_reauth_code(client):
    return client.post_form(
        f"{SECURITY}/reauthenticate/sms",
        {"next": f"{SECURITY}/sms"},
        token_from=SECURITY,
        htmx=True,
    )


def test_reauth_step_offers_to_text_a_code(app, client, sms, user_with_sms):
    _signed_in_with_sms(app, sms, user_with_sms)

    page = _text(client.get(f"{SECURITY}/sms", headers={"HX-Request": "true"}))

    assert f"We can text a code to {MASKED}." in page
    assert "Send a code" in page
    assert len(outbox(app)) == 2


def test_reauth_with_texted_code(app, client, sms, user_with_sms):
    _signed_in_with_sms(app, sms, user_with_sms)

    sent = _send_reauth_code(client)
    response = _reauth(client, code=last_code(app))

    assert f"Enter the 6-digit code we sent to {MASKED}." in _text(sent)
    assert len(outbox(app)) == 3
    assert response.status_code == 303
    assert response.headers["Location"] == f"{SECURITY}/sms"
    # The code works once.
    later(16)
    assert _reauth(client, code=last_code(app)).status_code == 400


def test_reauth_wrong_texted_code_is_refused_and_counted(
    app, client, sms, user_with_sms
):
    _signed_in_with_sms(app, sms, user_with_sms)
    _send_reauth_code(client)
    code = last_code(app)

    for _ in range(5):
        response = _reauth(client, code=wrong(code))
        assert response.status_code == 400
        assert messages.REAUTH_FAILED in _text(response)
    voided = _reauth(client, code=code)

    assert voided.status_code == 400


def test_reauth_texted_code_needs_the_password(app, client, sms, user_with_sms):
    _signed_in_with_sms(app, sms, user_with_sms)
    _send_reauth_code(client)

    response = _reauth(client, password="not the password", code=last_code(app))

    assert response.status_code == 400
    assert messages.REAUTH_FAILED in _text(response)


def test_reauth_with_backup_code_still_works(app, client, sms, user_with_sms):
    _signed_in_with_sms(app, sms, user_with_sms)

    response = _reauth(client, code=user_with_sms["backup_codes"][0])

    assert response.status_code == 303
    assert len(outbox(app)) == 2


def test_reauth_send_to_opted_out_number_says_so(app, client, sms, user_with_sms):
    _signed_in_with_sms(app, sms, user_with_sms)
    opt_out_directly(app)

    response = _send_reauth_code(client)

    assert (
        "You have opted out of SMS. Use a backup code, or text START to the number "
        "your codes come from." in _text(response)
    )
    assert len(outbox(app)) == 2


def test_reauth_step_for_authenticator_user_has_no_send_button(
    client, actions, user_with_totp
):
    actions.signin()
    actions.challenge(totp_now(user_with_totp["secret"]))
    later(16)

    page = _text(client.get(f"{SECURITY}/sms", headers={"HX-Request": "true"}))

    assert "Confirm it's you" in page
    assert "Send a code" not in page


class TestSeveralMethods:
    @pytest.fixture
    def config_overrides(self):
        return {"MFA_ALLOW_MULTIPLE": True}

    def test_reauth_takes_app_code_once_the_text_expired(
        self, app, client, actions, sms
    ):
        actions.signup()
        secret, _ = actions.enroll_totp()
        sms.enroll()
        later(16)
        _send_reauth_code(client)

        while_texted = _reauth(client, code=totp_now(secret))
        later(11)
        after_expiry = _reauth(client, code=totp_now(secret))

        assert while_texted.status_code == 400
        assert after_expiry.status_code == 303
