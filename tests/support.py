"""Plain helpers for test modules to import.

They live here, not in conftest.py: the browser tests have a conftest.py of
their own, and `from conftest import ...` finds whichever pytest loaded last.
"""

import html

import pyotp

from mfasite import clock
from mfasite.extensions import db

PASSWORD = "correct horse battery"


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
