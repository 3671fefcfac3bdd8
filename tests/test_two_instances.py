"""Two gunicorn instances sharing one PostgreSQL database and one Redis."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

import pyotp
import pytest
from limits.storage import storage_from_string
from support import PASSWORD, at_once

from mfasite import clock, passwords
from mfasite.extensions import db
from mfasite.mfa import methods, recovery, totp
from mfasite.models import METHOD_TOTP, RecoveryCode, User

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "shared@example.com"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _postgres_url():
    url = os.environ.get("TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


pytestmark = pytest.mark.skipif(
    _postgres_url() is None,
    reason="two instances need a shared PostgreSQL database: set TEST_DATABASE_URL",
)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _instance_environment(base_config):
    return {
        **os.environ,
        "MFASITE_ENV": "production",
        "DATABASE_URL": _postgres_url(),
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "SECRET_KEY": base_config["SECRET_KEY"],
        "MFA_ENCRYPTION_KEYS": base_config["MFA_ENCRYPTION_KEYS"],
        "MFA_HMAC_KEY": base_config["MFA_HMAC_KEY"],
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8",
        "WEB_CONCURRENCY": "2",
        "MFASITE_THREADS": "2",
    }


def _wait_until_serving(port, process, log_path):
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"instance exited early:\n{log_path.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/signin")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"instance on port {port} did not start:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def instances(_schema, base_config, tmp_path_factory):
    """Start two instances with the production command; yield their ports."""
    logs = tmp_path_factory.mktemp("instances")
    started = []
    for name in ("a", "b"):
        port = _free_port()
        log_path = logs / f"{name}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=_instance_environment(base_config),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append((process, port, log_path))

    try:
        for process, port, log_path in started:
            _wait_until_serving(port, process, log_path)
        yield [port for _, port, _ in started]
    finally:
        for process, _, _ in started:
            # SIGTERM, not SIGINT: a shell that starts the tests in the
            # background makes its children ignore SIGINT.
            process.send_signal(signal.SIGTERM)
        for process, _, _ in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Browser:
    """Cookies and forms over plain HTTP, sent to whichever instance is named."""

    def __init__(self):
        self.cookies = {}

    def request(self, port, method, path, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        connection.close()
        return response.status, response.headers, text

    def post_form(self, port, path, data):
        _, _, page = self.request(port, "GET", path)
        token = _CSRF.search(page).group(1)
        return self.request(port, "POST", path, {"csrf_token": token, **data})

    def signin(self, port, password=PASSWORD):
        return self.post_form(port, "/signin", {"email": EMAIL, "password": password})

    def challenge(self, port, code, method=None):
        path = "/signin/challenge" + (f"?method={method}" if method else "")
        return self.post_form(port, path, {"code": code})


@pytest.fixture
def shared_user(app):
    """A user with an authenticator app and backup codes, in the shared database."""
    storage_from_string(REDIS_URL).reset()
    with app.app_context():
        user = User(email=EMAIL, password_hash=passwords.hash_password(PASSWORD))
        db.session.add(user)
        db.session.flush()
        device = totp.start_enrollment(user)
        device.confirmed_at = clock.now()
        methods.activate(user, METHOD_TOTP)
        codes = recovery.generate(user, 10)
        secret = totp.secret_of(device)
        db.session.commit()
    return {"secret": secret, "codes": codes}


def _code(secret):
    return pyotp.TOTP(secret).now()


def test_signin_started_on_one_instance_finishes_on_the_other(instances, shared_user):
    a, b = instances
    browser = Browser()

    status, headers, _ = browser.signin(a)
    assert (status, headers["Location"]) == (303, "/signin/challenge")
    status, headers, _ = browser.challenge(b, _code(shared_user["secret"]))
    assert (status, headers["Location"]) == (303, "/")

    for port in (a, b):
        status, _, page = browser.request(port, "GET", "/")
        assert status == 200
        assert f"You are signed in as <strong>{EMAIL}</strong>" in page


def test_totp_code_used_on_one_instance_is_refused_on_the_other(instances, shared_user):
    a, b = instances
    code = _code(shared_user["secret"])
    first, second = Browser(), Browser()
    first.signin(a)
    second.signin(b)

    assert first.challenge(a, code)[0] == 303
    status, _, page = second.challenge(b, code)

    assert status == 400
    assert "That code didn&#39;t work." in page
    assert second.request(b, "GET", "/")[0] == 302


def test_wrong_codes_on_both_instances_count_against_one_signin(instances, shared_user):
    a, b = instances
    browser = Browser()
    browser.signin(a)
    for port in (a, b, a, b):
        assert browser.challenge(port, "000000")[0] == 400

    status, headers, _ = browser.challenge(b, "000000")

    assert (status, headers["Location"]) == (303, "/signin")
    assert browser.request(a, "GET", "/signin/challenge")[1]["Location"] == "/signin"


def test_backup_code_used_on_both_at_once_succeeds_once(instances, shared_user, app):
    a, b = instances
    path = "/signin/challenge?method=backup"
    rounds = 3
    for number in range(rounds):
        calls = []
        for port in (a, b):
            browser = Browser()
            browser.signin(port)
            _, _, page = browser.request(port, "GET", path)
            form = {"csrf_token": _CSRF.search(page).group(1)}
            form["code"] = shared_user["codes"][number]
            calls.append(partial(browser.request, port, "POST", path, form))

        statuses = [status for status, _, _ in at_once(*calls)]

        assert sorted(statuses) == [303, 400]

    with app.app_context():
        used = db.session.scalar(
            db.select(db.func.count(RecoveryCode.id)).where(
                RecoveryCode.used_at.is_not(None)
            )
        )
    assert used == rounds


def test_rate_limits_are_shared_between_instances(instances, shared_user):
    a, b = instances
    browser = Browser()
    for number in range(10):
        port = a if number % 2 else b
        assert browser.signin(port, password="wrong")[0] == 401

    for port in (a, b):
        status, headers, page = browser.signin(port)
        assert status == 429
        assert 1 <= int(headers["Retry-After"]) <= 61
        assert "Too many attempts" in page
