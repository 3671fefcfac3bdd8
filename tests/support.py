"""Plain helpers for test modules to import.

They live here, not in conftest.py: the browser tests have a conftest.py of
their own, and `from conftest import ...` finds whichever pytest loaded last.
"""

import html
import re
import threading

import pyotp

from mfasite import clock
from mfasite.extensions import db

PASSWORD = "correct horse battery"


def at_once(*calls):
    """Run the calls in threads released together; return their results in order.

    An exception in a call is returned as its result, so a test can count them.
    """
    start = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        start.wait()
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001 (the test inspects it)
            results[index] = error

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def pending_browsers(app, count, challenge_path):
    """Browsers that each passed the password step; return them with CSRF tokens."""
    browsers = []
    for _ in range(count):
        browser = app.test_client()
        browser.post_form("/signin", {"email": "ada@example.com", "password": PASSWORD})
        browsers.append((browser, browser.csrf_token(challenge_path)))
    return browsers


def sample_path(rule):
    """A URL of a route, with a number or a method name for each variable part."""
    path = re.sub(r"<int:[^>]+>", "1", rule.rule)
    return re.sub(r"<[^>]+>", "totp", path)


def rows(app, what, *where):
    """What the database holds now: rows of a model, or values of a column."""
    with app.app_context():
        return db.session.scalars(db.select(what).where(*where)).all()


def text(response):
    """The response body with HTML entities decoded, to compare with messages."""
    return html.unescape(response.get_data(as_text=True))


def totp_now(secret, steps=0):
    """The code an authenticator app shows now (or `steps` periods away)."""
    return pyotp.TOTP(secret).at(clock.timestamp() + steps * 30)
