"""Fixtures: an app on SQLite (or TEST_DATABASE_URL), a client, and user states."""

import os
import re
from datetime import timedelta

import pyotp
import pytest
from flask.testing import FlaskClient
from sms_support import fake_twilio, sms, user_with_sms  # noqa: F401  (fixtures)

from mfasite import clock, create_app
from mfasite.extensions import db
from mfasite.models import User

PASSWORD = "correct horse battery"

_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)
_SECRET = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
_BACKUP = re.compile(r"<li><code>([a-z0-9]{4}-[a-z0-9]{4})</code></li>")


def test_config(tmp_path_factory):
    """Settings for a test app: a fast hash, a throwaway database and keys."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test secret key",
        "MFA_ENCRYPTION_KEYS": "ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXM=",
        "MFA_HMAC_KEY": "test hmac key",
        # Argon2 at its cheapest: the tests check behaviour, not hash cost.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
        # Texts go to the console backend unless a test aims Twilio at the fake;
        # Twilio settings in the environment must never reach the real API.
        "SMS_BACKEND": "auto",
        "TWILIO_ACCOUNT_SID": None,
        "TWILIO_AUTH_TOKEN": None,
        "TWILIO_FROM_NUMBER": None,
        "TWILIO_MESSAGING_SERVICE_SID": None,
    }


@pytest.fixture(scope="session")
def base_config(tmp_path_factory):
    return test_config(tmp_path_factory)


@pytest.fixture(scope="session")
def _schema(base_config):
    app = create_app(base_config)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return base_config


def _empty_tables(app):
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def config_overrides():
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def app(_schema, config_overrides, monkeypatch):
    monkeypatch.setattr(clock, "offset", timedelta(0))
    app = create_app({**_schema, **config_overrides})
    _empty_tables(app)
    yield app
    with app.app_context():
        db.session.remove()
    _empty_tables(app)


class Client(FlaskClient):
    """A test client that carries the CSRF token the way a browser page does."""

    def csrf_token(self, path="/signin"):
        page = self.get(path).get_data(as_text=True)
        match = _CSRF.search(page)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def post_form(self, path, data=None, token_from="/signin", htmx=False, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(token_from))
        headers = kwargs.pop("headers", {})
        if htmx:
            headers = {"HX-Request": "true", "HX-Target": "modal-step", **headers}
        return self.post(path, data=data, headers=headers, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def totp_now(secret, steps=0):
    """The code an authenticator app shows now (or `steps` periods away)."""
    return pyotp.TOTP(secret).at(clock.timestamp() + steps * 30)


class Actions:
    """What a person does on the site, as small steps tests can combine."""

    def __init__(self, client, app):
        self.client = client
        self.app = app

    def signup(self, email="ada@example.com", password=PASSWORD):
        return self.client.post_form(
            "/signup",
            {"email": email, "password": password, "confirm": password},
            token_from="/signup",
        )

    def signin(self, email="ada@example.com", password=PASSWORD):
        return self.client.post_form("/signin", {"email": email, "password": password})

    def signout(self):
        return self.client.post_form("/signout", token_from="/account/security")

    def challenge(self, code, method=None):
        path = "/signin/challenge" + (f"?method={method}" if method else "")
        return self.client.post_form(path, {"code": code}, token_from=path)

    def start_totp(self):
        """Open the authenticator step and return the secret it shows."""
        page = self.client.get("/account/security/authenticator").get_data(True)
        match = _SECRET.search(page)
        assert match, "no secret on the authenticator step"
        return match.group(1)

    def verify_totp(self, code):
        return self.client.post_form(
            "/account/security/authenticator/verify",
            {"code": code},
            token_from="/account/security",
        )

    def enroll_totp(self):
        """Enroll an authenticator app; return its secret and the backup codes."""
        secret = self.start_totp()
        response = self.verify_totp(totp_now(secret))
        assert response.status_code == 200, response.get_data(True)
        return secret, _BACKUP.findall(response.get_data(True))

    def user(self, email="ada@example.com"):
        with self.app.app_context():
            return db.session.scalar(db.select(User).where(User.email == email))


@pytest.fixture
def actions(client, app):
    return Actions(client, app)


@pytest.fixture
def user_with_totp(actions):
    """A signed-up user with an authenticator app and backup codes, signed out."""
    actions.signup()
    secret, codes = actions.enroll_totp()
    actions.signout()
    # Sign-in codes must come from a later step than the enrollment code.
    clock.offset += timedelta(seconds=30)
    return {"email": "ada@example.com", "secret": secret, "backup_codes": codes}
