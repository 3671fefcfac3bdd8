"""Rate limits on texting codes, on entering texted codes, and on the webhook."""

import pytest
from sms_support import (
    MASKED,
    OTHER_PHONE,
    PHONE,
    SECURITY,
    count,
    last_code,
    outbox,
    wrong,
)

from mfasite import messages
from mfasite.models import SmsDevice, SmsSend, UserSession

THIRD_PHONE = "(212) 555-0187"


@pytest.fixture
def config_overrides():
    return {
        "SMS_SEND_LIMIT": "2 per hour",
        "CODE_ENTRY_IP_LIMIT": "30 per minute",
    }


def test_enrollment_texts_limited_per_account_whatever_the_number(app, actions, sms):
    actions.signup()
    assert sms.start().status_code == 200
    assert sms.start("(202) 555-0143").status_code == 200

    response = sms.start(THIRD_PHONE)

    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert body.startswith('<div class="modal-step" id="modal-step">')
    assert "Too many texts were asked for. Please wait an hour" in body
    assert int(response.headers["Retry-After"]) <= 60 * 60 + 1
    assert len(outbox(app)) == 2
    assert count(app, SmsSend, phone_e164="+12125550187") == 0


def test_reauthentication_texts_share_the_budget(app, client, actions, sms):
    actions.signup()
    sms.enroll()
    sends_before = len(outbox(app))
    assert sends_before == 1

    sent = client.post_form(
        f"{SECURITY}/reauthenticate/sms", {}, token_from=SECURITY, htmx=True
    )
    refused = client.post_form(
        f"{SECURITY}/reauthenticate/sms", {}, token_from=SECURITY, htmx=True
    )

    assert sent.status_code == 200
    assert refused.status_code == 429
    assert len(outbox(app)) == 2


def test_texted_signin_code_draws_on_the_second_factor_budget(
    app, actions, sms, user_with_sms
):
    app.config["SECOND_FACTOR_LIMIT"] = "1 per day"
    sms.signin()
    code = last_code(app)
    assert actions.challenge(wrong(code)).status_code == 400

    response = actions.challenge(code)

    assert response.status_code == 429
    assert count(app, UserSession) == 0


def test_enrollment_code_entry_limited_per_address(app, actions, sms):
    app.config["CODE_ENTRY_IP_LIMIT"] = "2 per minute"
    actions.signup()
    sms.start()
    code = last_code(app)
    for _ in range(2):
        assert sms.verify(wrong(code)).status_code == 400

    response = sms.verify(code)

    assert response.status_code == 429
    assert count(app, SmsDevice, confirmed_at=None) == 1


def test_webhook_limited_per_address(app, client):
    app.config["WEBHOOK_IP_LIMIT"] = "2 per minute"
    for _ in range(2):
        assert client.post("/sms/webhook", data={"Body": "HELP"}).status_code != 429

    response = client.post("/sms/webhook", data={"Body": "HELP"})

    assert response.status_code == 429
    assert "Retry-After" in response.headers


def test_change_password_with_a_texted_code(app, client, actions, sms, user_with_sms):
    sms.signin()
    assert actions.challenge(last_code(app)).status_code == 303
    dialog = client.get(f"{SECURITY}/password", headers={"HX-Request": "true"})
    assert f"We can text a code to {MASKED}." in dialog.get_data(as_text=True)

    sent = client.post_form(
        f"{SECURITY}/password/sms", {}, token_from=SECURITY, htmx=True
    )
    response = client.post_form(
        f"{SECURITY}/password",
        {
            "current_password": "correct horse battery",
            "code": last_code(app),
            "new_password": "a texted new passphrase",
            "confirm": "a texted new passphrase",
        },
        token_from=SECURITY,
        htmx=True,
    )

    assert messages.SMS_CODE_SENT.format(phone=MASKED) in sent.get_data(as_text=True)
    assert response.status_code == 204
    assert len([m for m in outbox(app) if m.to == PHONE]) == 3
    assert OTHER_PHONE not in [m.to for m in outbox(app)]


def test_password_text_without_csrf_token_sends_nothing(
    app, client, actions, sms, user_with_sms
):
    sms.signin()
    actions.challenge(last_code(app))
    before = len(outbox(app))

    response = client.post(f"{SECURITY}/password/sms", headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert len(outbox(app)) == before
