"""Fixtures: an app on SQLite (or TEST_DATABASE_URL), a client, and user states."""

import os
import re
import sqlite3
from contextlib import contextmanager
from datetime import timedelta

import jinja2
import pytest
from flask.testing import FlaskClient
from limits.errors import StorageError
from sms_support import fake_twilio, sms, user_with_sms  # noqa: F401  (fixtures)
from sqlalchemy import event
from sqlalchemy.engine import Engine
from support import PASSWORD, totp_now

from mfasite import clock, create_app
from mfasite.extensions import db, limiter
from mfasite.models import User

_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)
_SECRET = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')
_BACKUP = re.compile(r"<li><code>([a-z0-9]{4}-[a-z0-9]{4})</code></li>")


@event.listens_for(Engine, "connect")
def _no_fsync_for_sqlite(dbapi_connection, connection_record):
    # A throwaway test database need not survive a power cut; waiting for the
    # disk on every commit was most of the suite's time.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous = OFF")


# Every test builds its own app, and with it a new engine: its compiled SQL
# cache starts empty and its pool opens new connections while the old pools
# wait for the garbage collector. Apps with the same database share one engine
# instead (Flask-SQLAlchemy 3.1's hook for making engines, pinned).
_engines = {}
_make_engine = db._make_engine


def _shared_engine(bind_key, options, app):
    key = (bind_key, repr(sorted(options.items(), key=lambda item: item[0])))
    if key not in _engines:
        _engines[key] = _make_engine(bind_key, options, app)
    return _engines[key]


db._make_engine = _shared_engine


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
        # Redis on the PostgreSQL pass, so limits behave as in production.
        "RATELIMIT_STORAGE_URI": os.environ.get("TEST_REDIS_URL", "memory://"),
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


def _reset_limits(app):
    # Counts left in Redis by an earlier test would limit this one.
    with app.app_context():
        try:
            limiter.storage.reset()
        except StorageError:
            pass  # the test points at an unreachable storage on purpose


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in memory and shared by the app of every test.

    Each test builds a new app, which would otherwise compile every template
    it renders again; the source checksum still catches an edited template.
    """

    def __init__(self):
        self.store = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_compiled_templates = _CompiledTemplates()


@pytest.fixture
def config_overrides():
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def app(_schema, config_overrides, monkeypatch):
    monkeypatch.setattr(clock, "offset", timedelta(0))
    app = create_app({**_schema, **config_overrides})
    app.jinja_env.bytecode_cache = _compiled_templates
    _empty_tables(app)
    _reset_limits(app)
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

    def session_cookie(self):
        """The raw value of the session cookie, or None."""
        cookie = self.get_cookie("session")
        return cookie.value if cookie else None

    def session_data(self):
        """What the signed session cookie holds, decoded as Flask reads it."""
        value = self.session_cookie()
        if value is None:
            return {}
        serializer = self.application.session_interface.get_signing_serializer(
            self.application
        )
        return serializer.loads(value)


@pytest.fixture
def client(app):
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def mid_step(app):
    """Move the clock forward to the middle of a 30-second step.

    A test that counts steps then cannot straddle a step boundary.
    """
    clock.offset += timedelta(seconds=(15 - clock.timestamp() % 30) % 30)


@pytest.fixture
def count_statements(app):
    """A context manager that lists the SQL statements run inside it."""

    @contextmanager
    def counting():
        statements = []

        def note(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", note)

    return counting


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
def new_browser(app):
    """Open another browser on the same site: its own cookies, its own actions."""
    app.test_client_class = Client

    def open_browser(remote_addr="127.0.0.1"):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = remote_addr
        return Actions(client, app)

    return open_browser


@pytest.fixture
def user_with_totp(actions):
    """A signed-up user with an authenticator app and backup codes, signed out."""
    actions.signup()
    secret, codes = actions.enroll_totp()
    actions.signout()
    # Sign-in codes must come from a later step than the enrollment code.
    clock.offset += timedelta(seconds=30)
    return {"email": "ada@example.com", "secret": secret, "backup_codes": codes}


@pytest.fixture
def two_browsers(actions, new_browser, user_with_totp):
    """The TOTP user signed in with both factors in `actions`' browser and another."""
    other = new_browser()
    for browser in (actions, other):
        browser.signin()
        response = browser.challenge(totp_now(user_with_totp["secret"]))
        assert response.status_code == 303
        clock.offset += timedelta(seconds=30)
    return actions, other
