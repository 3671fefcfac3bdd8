"""SQL statements per request, counted with SQLAlchemy events through the test client.

The MFA hook's share is what a route costs with the hook minus what it
costs with the hook taken out of the app.
"""

import itertools
import re
from contextlib import contextmanager

import pyotp
from sqlalchemy import event

from mfasite import clock, create_app, sessions
from mfasite.enforcement import enforce_mfa
from mfasite.extensions import db
from mfasite.models import UserSession

from . import common

_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
MODAL_HEADERS = {"HX-Request": "true", "HX-Target": "modal-root"}


class QueryCounter:
    """Counts the statements an engine sends while it is active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @contextmanager
    def counting(self):
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        try:
            yield self
        finally:
            event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self):
        return len(self.statements)


def _token(response):
    match = _CSRF.search(response.get_data(as_text=True))
    return match.group(1) if match else ""


def _code(user_id):
    return pyotp.TOTP(common.totp_secret(user_id)).at(clock.timestamp())


class _Walk:
    """One signed-in journey through the routes the benchmark loads."""

    def __init__(self, app, counter):
        self.app = app
        self.client = app.test_client()
        self.counter = counter
        self.counts = {}
        self.expected = {}

    def request(self, name, method, path, expect, **kwargs):
        with self.counter.counting():
            response = self.client.open(path, method=method, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(f"{name} answered {response.status_code}")
        self.counts[name] = self.counter.count
        return response

    def run(self, user_id, webhook):
        page = self.request("GET /signin", "GET", "/signin", 200)
        form = {
            "csrf_token": _token(page),
            "email": common.email(user_id),
            "password": common.PASSWORD,
        }
        self.request("POST /signin", "POST", "/signin", 303, data=form)
        page = self.request("GET /signin/challenge", "GET", "/signin/challenge", 200)
        form = {"csrf_token": _token(page), "code": _code(user_id)}
        self.request(
            "POST /signin/challenge", "POST", "/signin/challenge", 303, data=form
        )
        self.request("GET /", "GET", "/", 200)
        # The first page after sign-in may refresh last-seen; measure the next one.
        self.client.get("/account/security")
        self.request("GET /account/security", "GET", "/account/security", 200)
        self.request(
            "GET /account/security/authenticator (modal)",
            "GET",
            "/account/security/authenticator",
            200,
            headers=MODAL_HEADERS,
        )
        if webhook is not None:
            form, headers = webhook()
            self.request(
                "POST /sms/webhook",
                "POST",
                "/sms/webhook",
                200,
                data=form,
                headers=headers,
            )
        return self.counts

    def other_methods(self):
        """The Security page of an SMS user and of a security key user."""
        for method, label in (("sms", "SMS user"), ("webauthn", "security key user")):
            user_id = next(
                i for i in itertools.count(1) if common.method_of(i) == method
            )
            self.client = _signed_in_as(self.app, user_id)
            self.request(
                f"GET /account/security ({label})", "GET", "/account/security", 200
            )
        return self.counts


def _signed_in_as(app, user_id):
    """A client with a session opened directly: the walk cannot answer an SMS or key."""
    with app.app_context():
        user_session = UserSession(id=sessions.new_token(), user_id=user_id)
        db.session.add(user_session)
        db.session.commit()
        session_id = user_session.id

    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = session_id
        cookie["_fresh"] = True
    return client


def _app(config, with_hook):
    app = create_app(config)
    if not with_hook:
        app.before_request_funcs[None].remove(enforce_mfa)
    return app


def count_routes(config, user_ids, webhook=None):
    """Statements per route with and without the MFA hook, for two seeded users.

    `webhook` makes (form, headers) for a new signed inbound SMS; None when
    the site has no webhook route yet.
    """
    results = {}
    for with_hook, user_id in zip((True, False), user_ids, strict=True):
        app = _app(config, with_hook)
        with app.app_context():
            engine = db.engine
        # Each request must push its own app context, as it does in a server.
        walk = _Walk(app, QueryCounter(engine))
        walk.run(user_id, webhook)
        results[with_hook] = walk.other_methods()
        engine.dispose()

    return {
        route: {
            "queries": count,
            "without_hook": results[False][route],
            "hook_adds": count - results[False][route],
        }
        for route, count in results[True].items()
    }
