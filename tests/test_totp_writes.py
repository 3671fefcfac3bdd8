"""What a code sign-in writes to the authenticator's row."""

import pyotp

from bench.queries import QueryCounter
from mfasite import clock
from mfasite.extensions import db


def test_challenge_totp_stores_step_with_one_update(app, actions, user_with_totp):
    actions.signin()
    code = pyotp.TOTP(user_with_totp["secret"]).at(clock.timestamp())
    with app.app_context():
        counter = QueryCounter(db.engine)

    with counter.counting():
        response = actions.challenge(code)

    assert response.status_code == 303
    updates = [s for s in counter.statements if s.startswith("UPDATE totp_device")]
    assert len(updates) == 1
