"""Texts through the real Twilio client, aimed at the fake Messages API on loopback."""

import html
import logging
import re
import socket

import pytest
from sms_support import (
    MASKED,
    PHONE,
    PROGRAM_NUMBER,
    SECURITY,
    code_in,
    count,
    devices,
    twilio_settings,
)

from fakes.twilio_api import (
    INTERNAL_ERROR,
    INVALID_TO,
    NOT_MOBILE,
    UNAVAILABLE,
    UNSUBSCRIBED,
    LoopbackHttpClient,
)
from mfasite.config import Defaults
from mfasite.models import SecurityEvent, SmsOptOut
from mfasite.sms import senders

PROGRAM_SHOWN = "(202) 555-0100"
FAILED = (
    "The code could not be sent. Use a backup code, or cancel and sign in again in "
    "a few minutes."
)
SIGNIN_ERRORS = {
    UNSUBSCRIBED: "Your number has opted out of our texts. Text START to "
    f"{PROGRAM_SHOWN} or use another method.",
    INVALID_TO: f"We can't text {MASKED}: it is not a valid phone number. "
    "Use a backup code.",
    NOT_MOBILE: f"We can't text {MASKED}: it is not a mobile number. "
    "Use a backup code.",
    INTERNAL_ERROR: FAILED,
    UNAVAILABLE: FAILED,
}
ENROLL_ERRORS = {
    UNSUBSCRIBED: "This number has opted out of our texts. Text START to "
    f"{PROGRAM_SHOWN}, then try again.",
    INVALID_TO: "We can't text that number: it is not a valid phone number.",
    NOT_MOBILE: "That is not a mobile number. Enter a number that can receive texts.",
    INTERNAL_ERROR: "The code could not be sent. Try again in a few minutes, or "
    "choose another method.",
}


@pytest.fixture
def config_overrides(fake_twilio):
    return twilio_settings(fake_twilio, timeout=0.5)


@pytest.fixture
def twilio_user(app, actions, sms, fake_twilio):
    """A user enrolled through the fake, signed out, with the fake emptied."""
    actions.signup()
    codes = sms.enroll(read_code=lambda: code_in(fake_twilio.messages[-1]["body"]))
    actions.signout()
    fake_twilio.reset()
    return {"backup_codes": codes}


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _code(fake):
    return code_in(fake.requests[-1].form["Body"])


def test_twilio_backend_is_chosen_when_configured(app):
    assert isinstance(app.extensions[senders.EXTENSION_KEY], senders.TwilioSender)


def test_enroll_posts_exact_to_from_and_body(app, actions, sms, fake_twilio):
    actions.signup()

    sms.start()

    [request] = fake_twilio.requests
    code = _code(fake_twilio)
    assert request.auth_ok and request.account_sid == fake_twilio.account_sid
    assert request.form == {
        "To": PHONE,
        "From": PROGRAM_NUMBER,
        "Body": f"mfasite verification code: {code}. Reply HELP for help, STOP to "
        "opt out.",
    }
    assert sms.verify(code).status_code == 200
    assert devices(app) == [(PHONE, True)]


def test_signin_sends_one_message_per_sign_in(client, sms, fake_twilio, twilio_user):
    sms.signin()
    code = _code(fake_twilio)

    sms.come_back(code)

    assert len(fake_twilio.requests) == 1
    assert fake_twilio.requests[0].form["To"] == PHONE
    assert sms.actions.challenge(code).status_code == 303


@pytest.mark.parametrize("error", sorted(SIGNIN_ERRORS))
def test_signin_send_error_shows_its_message_and_keeps_the_sign_in(
    app, client, sms, fake_twilio, twilio_user, error
):
    fake_twilio.fail_next(error)

    response = sms.signin()
    reload = client.get("/signin/challenge")

    assert response.status_code == 200
    assert SIGNIN_ERRORS[error] in _text(response)
    assert 'name="code"' not in _text(response)
    assert "Use a backup code" in _text(response)
    # Nothing is sent again; the sign-in goes on with a backup code.
    assert reload.status_code == 200
    assert len(fake_twilio.requests) == 1
    backup = sms.actions.challenge(twilio_user["backup_codes"][0], method="backup")
    assert backup.status_code == 303
    assert count(app, SmsOptOut) == (1 if error == UNSUBSCRIBED else 0)


def test_signin_unsubscribed_marks_number_and_later_visits_say_opted_out(
    app, client, sms, fake_twilio, twilio_user
):
    fake_twilio.fail_next(UNSUBSCRIBED)
    sms.signin()

    reload = client.get("/signin/challenge")

    assert (
        "You have opted out of SMS. Use a backup code, or text START to "
        f"{PROGRAM_SHOWN}." in _text(reload)
    )
    assert count(app, SmsOptOut, phone_e164=PHONE) == 1
    assert count(app, SecurityEvent, kind="sms_opted_out") == 1


def test_signin_timeout_says_not_sent(app, client, sms, fake_twilio, twilio_user):
    fake_twilio.delay_next(3)

    response = sms.signin()

    assert response.status_code == 200
    assert FAILED in _text(response)
    assert 'name="code"' not in _text(response)


def test_signin_code_texted_before_a_timeout_is_not_accepted(
    app, sms, fake_twilio, twilio_user
):
    # The fake got the message but answered too late: the code is withdrawn.
    fake_twilio.delay_next(3)
    sms.signin()

    response = sms.actions.challenge(_code(fake_twilio))

    assert response.status_code == 400


def test_logs_never_hold_the_number_or_the_code(
    caplog, app, sms, fake_twilio, twilio_user
):
    caplog.set_level(logging.DEBUG)
    fake_twilio.fail_next(INVALID_TO)
    sms.signin()
    sms.client.post_form("/signin/cancel", token_from="/signin/challenge")
    sms.signin()

    logged = caplog.text
    assert "sms refused by twilio to=***71 status=400 code=21211" in logged
    assert "sms sent to=***71" in logged
    assert "4155552671" not in logged and "555-2671" not in logged
    assert _code(fake_twilio) not in logged


@pytest.mark.parametrize("error", sorted(ENROLL_ERRORS))
def test_enroll_send_error_shows_its_message_and_keeps_nothing(
    app, actions, sms, fake_twilio, error
):
    actions.signup()
    fake_twilio.fail_next(error)

    response = sms.start()

    assert response.status_code == 400
    assert ENROLL_ERRORS[error] in _text(response)
    assert devices(app) == []


class TestMessagingService:
    @pytest.fixture
    def config_overrides(self, fake_twilio):
        return twilio_settings(
            fake_twilio,
            TWILIO_FROM_NUMBER=None,
            TWILIO_MESSAGING_SERVICE_SID="MG" + "1" * 32,
        )

    def test_enroll_sends_through_the_messaging_service(
        self, actions, sms, fake_twilio
    ):
        actions.signup()

        sms.start()

        form = fake_twilio.requests[0].form
        assert form["MessagingServiceSid"] == "MG" + "1" * 32
        assert "From" not in form and form["To"] == PHONE


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TestConnectionRefused:
    @pytest.fixture
    def config_overrides(self, fake_twilio):
        client = LoopbackHttpClient(f"http://127.0.0.1:{_closed_port()}", timeout=1)
        return {**twilio_settings(fake_twilio), "TWILIO_HTTP_CLIENT": client}

    def test_enroll_connection_error_says_not_sent(self, app, actions, sms):
        actions.signup()

        response = sms.start()

        assert response.status_code == 400
        assert ENROLL_ERRORS[INTERNAL_ERROR] in _text(response)
        assert devices(app) == []


class TestProductionWithoutTwilio:
    @pytest.fixture
    def config_overrides(self):
        return {"TESTING": False}

    def test_sms_is_unavailable_and_there_is_no_outbox(self, app, client, actions):
        actions.signup()

        page = _text(client.get(SECURITY))

        assert app.extensions[senders.EXTENSION_KEY] is None
        assert client.get("/dev/outbox").status_code == 404
        row = page[page.index('id="method-sms"') : page.index('id="method-totp"')]
        assert "Unavailable" in row


def _settings(**values):
    config = {key: getattr(Defaults, key) for key in dir(Defaults) if key.isupper()}
    return {**config, **values}


TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM_NUMBER": PROGRAM_NUMBER,
}


@pytest.mark.parametrize(
    ("values", "development", "expected"),
    [
        ({}, True, senders.ConsoleSender),
        ({}, False, type(None)),
        (TWILIO, False, senders.TwilioSender),
        (TWILIO, True, senders.TwilioSender),
        ({**TWILIO, "SMS_BACKEND": "console"}, True, senders.ConsoleSender),
        ({**TWILIO, "SMS_BACKEND": "none"}, True, type(None)),
    ],
)
def test_build_chooses_backend(values, development, expected):
    assert type(senders.build(_settings(**values), development)) is expected


@pytest.mark.parametrize(
    ("values", "development", "refusal"),
    [
        ({"SMS_BACKEND": "twilio"}, False, "SMS_BACKEND=twilio needs"),
        ({"SMS_BACKEND": "console"}, False, "for development only"),
        ({"SMS_BACKEND": "carrier-pigeon"}, True, "unknown SMS_BACKEND"),
    ],
)
def test_build_refuses_impossible_settings(values, development, refusal):
    with pytest.raises(RuntimeError, match=re.escape(refusal)):
        senders.build(_settings(**values), development)
