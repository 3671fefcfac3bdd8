"""SMS test helpers: numbers, codes read from what was sent, and user states.

Test modules import the fixtures they use from here by name.
"""

import re
from datetime import timedelta

import pytest
from support import PASSWORD, totp_now  # noqa: F401  (for the SMS test modules)
from twilio.request_validator import RequestValidator

from fakes import twilio_api
from mfasite import clock
from mfasite.extensions import db
from mfasite.models import SmsDevice, SmsOptOut, SmsSend

# Valid for libphonenumber's metadata (checked in test_sms_phone.py).
PHONE = "+14155552671"
TYPED = "(415) 555-2671"
MASKED = "(•••) •••-2671"
OTHER_PHONE = "+12025550143"
OTHER_MASKED = "(•••) •••-0143"
PROGRAM_NUMBER = "+12025550100"
PROGRAM_NUMBER_SHOWN = "(202) 555-0100"

SECURITY = "/account/security"
_CODE = re.compile(r"verification code: (\d{6})\.")
_BACKUP = re.compile(r"<li><code>([a-z0-9]{4}-[a-z0-9]{4})</code></li>")


def code_in(body):
    match = _CODE.search(body)
    assert match, f"no code in {body!r}"
    return match.group(1)


def outbox(app):
    """What the console backend kept, newest first."""
    return app.extensions["mfasite.sms_sender"].outbox


def last_code(app, to=PHONE):
    messages = [message for message in outbox(app) if message.to == to]
    assert messages, f"no text to {to}"
    return code_in(messages[0].body)


def wrong(code):
    """A six-digit code that is certainly not `code`."""
    return f"{(int(code) + 1) % 10**6:06d}"


def count(app, model, **where):
    with app.app_context():
        query = db.select(db.func.count()).select_from(model).filter_by(**where)
        return db.session.scalar(query)


def devices(app):
    with app.app_context():
        rows = db.session.scalars(db.select(SmsDevice).order_by(SmsDevice.id))
        return [(row.phone_e164, row.confirmed_at is not None) for row in rows]


def opt_out_directly(app, e164=PHONE):
    with app.app_context():
        db.session.add(SmsOptOut(phone_e164=e164))
        db.session.commit()


def sends(app, e164=PHONE):
    return count(app, SmsSend, phone_e164=e164)


class SmsActions:
    """Enrollment and sign-in steps for SMS, on top of the common actions."""

    def __init__(self, client, app, actions):
        self.client = client
        self.app = app
        self.actions = actions

    def start(self, number=TYPED, country="+1"):
        return self.client.post_form(
            f"{SECURITY}/sms",
            {"country": country, "phone": number},
            token_from=SECURITY,
            htmx=True,
        )

    def verify(self, code):
        return self.client.post_form(
            f"{SECURITY}/sms/verify", {"code": code}, token_from=SECURITY, htmx=True
        )

    def enroll(self, number=TYPED, read_code=None):
        """Enroll a number; return the backup codes shown (if any)."""
        response = self.start(number)
        assert response.status_code == 200, response.get_data(True)
        code = (read_code or (lambda: last_code(self.app, _e164(number))))()
        response = self.verify(code)
        assert response.status_code in (200, 204), response.get_data(True)
        return _BACKUP.findall(response.get_data(True))

    def signin(self):
        """Password, then the challenge page (which texts the code)."""
        self.actions.signin()
        return self.client.get("/signin/challenge")

    def come_back(self, code):
        """Reload, go back to the SMS choice, post a wrong code, reload again."""
        self.client.get("/signin/challenge")
        self.client.get("/signin/challenge?method=sms")
        assert self.actions.challenge(wrong(code)).status_code == 400
        self.client.get("/signin/challenge")


def _e164(typed):
    return "+1" + re.sub(r"\D", "", typed)[-10:]


@pytest.fixture
def sms(client, app, actions):
    return SmsActions(client, app, actions)


@pytest.fixture
def user_with_sms(actions, sms):
    """A user whose one method is SMS to PHONE, with backup codes, signed out."""
    actions.signup()
    codes = sms.enroll()
    actions.signout()
    return {"email": "ada@example.com", "backup_codes": codes}


@pytest.fixture
def fake_twilio():
    yield from twilio_api.fake_twilio_api()


def twilio_settings(fake, timeout=2.0, **extra):
    """Settings that send through the real client to the fake on loopback."""
    return {
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": PROGRAM_NUMBER,
        "TWILIO_HTTP_CLIENT": twilio_api.make_http_client(fake, timeout=timeout),
        **extra,
    }


def later(minutes):
    clock.offset += timedelta(minutes=minutes)


def signed_post(client, url, params, token, signature_url=None, headers=None):
    """POST form fields to the webhook, signed as Twilio signs them."""
    signature = RequestValidator(token).compute_signature(signature_url or url, params)
    return client.post(
        url,
        data=params,
        headers={"X-Twilio-Signature": signature, **(headers or {})},
    )
