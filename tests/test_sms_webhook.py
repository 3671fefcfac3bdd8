"""POST /sms/webhook: Twilio's signature, the opt-out keywords, the outbox replies."""

import html
import logging
import secrets
import xml.etree.ElementTree as ElementTree

import pytest
from sms_support import (
    OTHER_PHONE,
    PHONE,
    count,
    outbox,
    signed_post,
)
from twilio.request_validator import RequestValidator

from mfasite.models import SecurityEvent, SmsInbound, SmsOptOut

BASE = "https://sms.mfasite.test"
URL = f"{BASE}/sms/webhook"
TOKEN = "webhook test token"

STOP_REPLY = (
    "mfasite sign-in codes: you are unsubscribed and will get no more messages. "
    "Reply START to resubscribe."
)
START_REPLY = (
    "mfasite sign-in codes: you are resubscribed. Reply HELP for help, STOP to opt out."
)
HELP_REPLY = (
    "mfasite sign-in codes: at most 1 message per sign-in. Help: help@mfasite.test. "
    "Msg&data rates may apply. Reply STOP to opt out."
)
OTHER_REPLY = (
    "mfasite sign-in codes: replies are not read here. Reply HELP for help, STOP "
    "to opt out."
)


@pytest.fixture
def config_overrides():
    return {
        "PUBLIC_BASE_URL": BASE + "/",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SMS_SUPPORT_CONTACT": "help@mfasite.test",
    }


def _params(body="STOP", sender=PHONE, **extra):
    return {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+12025550100",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def _post(client, params, token=TOKEN, signature_url=URL):
    return signed_post(client, URL, params, token, signature_url)


def _reply(response):
    root = ElementTree.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response"
    message = root.find("Message")
    return message.text if message is not None else None


def _state(app):
    return count(app, SmsOptOut), count(app, SmsInbound), count(app, SecurityEvent)


def test_webhook_stop_opts_the_number_out_and_replies(app, client):
    response = _post(client, _params("STOP"))

    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert _reply(response) == STOP_REPLY
    assert count(app, SmsOptOut, phone_e164=PHONE) == 1
    assert count(app, SmsInbound) == 1


def test_webhook_start_opts_back_in(app, client):
    _post(client, _params("STOP"))

    response = _post(client, _params("START"))

    assert _reply(response) == START_REPLY
    assert count(app, SmsOptOut) == 0


def test_webhook_help_replies_with_program_and_contact(app, client):
    response = _post(client, _params("HELP"))

    assert _reply(response) == HELP_REPLY
    assert count(app, SmsOptOut) == 0


@pytest.mark.parametrize(
    ("body", "opted_out", "reply"),
    [
        *[
            (word, 1, STOP_REPLY)
            for word in (
                "STOP",
                "stop",
                "Stop",
                "  sToP \n",
                "STOPALL",
                "stopall",
                "UNSUBSCRIBE",
                "Unsubscribe",
                "CANCEL",
                "cancel",
                "END",
                "end",
                "QUIT",
                "Quit",
                "REVOKE",
                "revoke",
                "OPTOUT",
                "OptOut",
            )
        ],
        *[
            (word, 0, START_REPLY)
            for word in ("START", "start", "YES", "yes", "UNSTOP", "Unstop")
        ],
        *[(word, 1, HELP_REPLY) for word in ("HELP", "help", "INFO", "Info")],
        *[
            (word, 1, OTHER_REPLY)
            for word in ("stop please", "hello", "", "S T O P", "STOP!", "opt out")
        ],
    ],
)
def test_webhook_keywords_in_any_case(app, client, body, opted_out, reply):
    # The number starts opted out, so START, and only START, changes it back.
    _post(client, _params("STOP"))

    response = _post(client, _params(body))

    assert response.status_code == 200
    assert _reply(response) == reply
    assert count(app, SmsOptOut) == opted_out


@pytest.mark.parametrize(
    ("body", "opt_out_type", "opted_out"),
    [("ARRET", "STOP", 1), ("stop", "HELP", 0), ("hello", "STOP", 1)],
)
def test_webhook_honours_opt_out_type(app, client, body, opt_out_type, opted_out):
    response = _post(client, _params(body, OptOutType=opt_out_type))

    assert response.status_code == 200
    assert count(app, SmsOptOut) == opted_out


def test_webhook_opt_out_type_start_opts_back_in(app, client):
    _post(client, _params("STOP"))

    _post(client, _params("OUI", OptOutType="START"))

    assert count(app, SmsOptOut) == 0


def test_webhook_records_events_for_the_numbers_owner(app, client, user_with_sms):
    _post(client, _params("STOP"))
    _post(client, _params("START"))

    assert count(app, SecurityEvent, kind="sms_opted_out") == 1
    assert count(app, SecurityEvent, kind="sms_opted_in") == 1


def test_webhook_unknown_number_is_opted_out_without_events(app, client, user_with_sms):
    response = _post(client, _params("STOP", sender=OTHER_PHONE))

    assert _reply(response) == STOP_REPLY
    assert count(app, SmsOptOut, phone_e164=OTHER_PHONE) == 1
    assert count(app, SmsOptOut, phone_e164=PHONE) == 0
    assert count(app, SecurityEvent, kind="sms_opted_out") == 0


def test_webhook_repeated_delivery_changes_nothing_twice(app, client, user_with_sms):
    params = _params("STOP")
    first = _post(client, params)
    _post(client, _params("START"))

    again = _post(client, params)

    assert _reply(first) == STOP_REPLY
    assert again.status_code == 200 and _reply(again) is None
    assert count(app, SmsOptOut) == 0
    assert count(app, SecurityEvent, kind="sms_opted_out") == 1
    assert count(app, SmsInbound) == 2


def test_webhook_stop_twice_records_one_opt_out(app, client, user_with_sms):
    _post(client, _params("STOP"))
    _post(client, _params("stop"))

    assert count(app, SmsOptOut) == 1
    assert count(app, SecurityEvent, kind="sms_opted_out") == 1


def _refused(app, client, response, caplog, reason):
    assert response.status_code == 403
    assert _state(app) == (0, 0, 0)
    records = [r for r in caplog.records if r.name == "mfasite.sms.webhook"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.INFO, f"sms webhook refused: {reason}")
    ]


def test_webhook_without_signature_is_forbidden(app, client, caplog):
    caplog.set_level(logging.INFO)

    response = client.post(URL, data=_params("STOP"))

    _refused(app, client, response, caplog, "no signature")


@pytest.mark.parametrize(
    "tampered", [{"Body": "STOP"}, {"From": OTHER_PHONE}, {"OptOutType": "STOP"}]
)
def test_webhook_with_tampered_field_is_forbidden(app, client, caplog, tampered):
    caplog.set_level(logging.INFO)
    params = _params("HELP")
    signature = RequestValidator(TOKEN).compute_signature(URL, params)

    response = client.post(
        URL, data={**params, **tampered}, headers={"X-Twilio-Signature": signature}
    )

    _refused(app, client, response, caplog, "bad signature")


def test_webhook_signed_for_another_url_is_forbidden(app, client, caplog):
    caplog.set_level(logging.INFO)

    response = _post(
        client, _params("STOP"), signature_url="https://elsewhere.test/sms/webhook"
    )

    _refused(app, client, response, caplog, "bad signature")


def test_webhook_signed_with_another_token_is_forbidden(app, client, caplog):
    caplog.set_level(logging.INFO)

    response = _post(client, _params("STOP"), token="not the auth token")

    _refused(app, client, response, caplog, "bad signature")


@pytest.mark.parametrize(
    "change",
    [
        {"From": ""},
        {"From": "4155552671"},
        {"From": "+1 415 555 2671"},
        {"From": "+1" + "2" * 20},
        {"MessageSid": ""},
        {"MessageSid": "SM123"},
        {"MessageSid": "SM" + "a" * 100},
    ],
)
def test_webhook_malformed_signed_request_is_bad_request(app, client, change):
    response = _post(client, {**_params("STOP"), **change})

    assert response.status_code == 400
    assert _state(app) == (0, 0, 0)


def test_webhook_missing_fields_is_bad_request(app, client):
    response = _post(client, {"Body": "STOP"})

    assert response.status_code == 400
    assert _state(app) == (0, 0, 0)


def test_webhook_needs_no_csrf_token_and_ignores_a_pending_sign_in(
    app, client, sms, user_with_sms
):
    sms.signin()

    response = _post(client, _params("STOP"))

    assert response.status_code == 200
    assert count(app, SmsOptOut) == 1


class TestRepliesOff:
    @pytest.fixture
    def config_overrides(self):
        return {
            "PUBLIC_BASE_URL": BASE,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "SMS_WEBHOOK_REPLIES": False,
        }

    def test_webhook_acts_but_says_nothing(self, app, client):
        response = _post(client, _params("STOP"))

        assert response.status_code == 200
        assert _reply(response) is None
        assert count(app, SmsOptOut) == 1


class TestProductionWithoutToken:
    @pytest.fixture
    def config_overrides(self):
        return {"TESTING": False, "PUBLIC_BASE_URL": BASE}

    def test_webhook_is_forbidden(self, app, client):
        response = _post(client, _params("STOP"), token="anything")

        assert response.status_code == 403
        assert _state(app) == (0, 0, 0)


class TestProductionWithoutPublicUrl:
    @pytest.fixture
    def config_overrides(self):
        return {"TESTING": False, "TWILIO_AUTH_TOKEN": TOKEN}

    def test_webhook_does_not_trust_the_host_header(self, app, client):
        response = signed_post(
            client,
            URL,
            _params("STOP"),
            TOKEN,
            headers={"Host": "sms.mfasite.test"},
        )

        assert response.status_code == 403
        assert _state(app) == (0, 0, 0)


# The development outbox page and its simulated replies.


def _outbox_reply(client, body, phone=PHONE):
    return client.post_form(
        "/dev/outbox/reply", {"phone": phone, "body": body}, token_from="/dev/outbox"
    )


def _flashes(client):
    return html.unescape(client.get("/dev/outbox").get_data(as_text=True))


class TestOutbox:
    @pytest.fixture
    def config_overrides(self):
        # No Twilio and no public URL: the development defaults.
        return {}

    def test_outbox_lists_texts_newest_first(self, app, client, sms, user_with_sms):
        sms.signin()

        page = html.unescape(client.get("/dev/outbox").get_data(as_text=True))

        bodies = [message.body for message in outbox(app)]
        assert page.index(bodies[0]) < page.index(bodies[1])
        assert PHONE in page

    @pytest.mark.parametrize(
        ("body", "opted_out", "reply"),
        [
            ("STOP", 1, STOP_REPLY),
            ("HELP", 0, HELP_REPLY.replace(" Help: help@mfasite.test.", "")),
        ],
    )
    def test_outbox_reply_goes_through_the_signed_webhook(
        self, app, client, body, opted_out, reply
    ):
        response = _outbox_reply(client, body)

        assert response.status_code == 303
        assert f"The webhook answered 200: {reply}" in _flashes(client)
        assert count(app, SmsOptOut) == opted_out
        assert count(app, SmsInbound) == 1

    def test_outbox_start_after_stop_restores_texts(self, app, client):
        _outbox_reply(client, "STOP")
        _outbox_reply(client, "START")

        assert f"The webhook answered 200: {START_REPLY}" in _flashes(client)
        assert count(app, SmsOptOut) == 0

    def test_outbox_refuses_a_malformed_number(self, app, client):
        _outbox_reply(client, "STOP", phone="4155552671")

        assert "Enter a number in E.164 form" in _flashes(client)
        assert _state(app) == (0, 0, 0)


class TestOutboxWithPublicUrl:
    def test_outbox_reply_signs_for_the_public_url(self, app, client):
        _outbox_reply(client, "STOP")

        assert f"The webhook answered 200: {STOP_REPLY}" in _flashes(client)
        assert count(app, SmsOptOut) == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe=%%%&&=", "application/x-www-form-urlencoded"),
        (b"--x\r\nbroken", "multipart/form-data"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (b'{"Body": "STOP"}', "application/json"),
    ],
)
def test_webhook_garbled_body_is_refused_without_error(app, client, body, content_type):
    response = client.post(
        URL,
        data=body,
        content_type=content_type,
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )

    assert response.status_code in (400, 403)
    assert _state(app) == (0, 0, 0)
