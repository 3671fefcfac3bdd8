"""What the seeder and the load generator agree on: accounts, password, secrets."""

import base64
import hashlib

PASSWORD = "bench password, not secret"
# Twilio signs webhooks with this token in the benchmark; it is nobody's real one.
TWILIO_AUTH_TOKEN = "bench-twilio-auth-token"

_SECRET_SALT = b"mfasite bench totp"

METHOD_NONE = "none"


def email(user_id):
    return f"user{user_id}@bench.example"


def totp_secret(user_id):
    """The authenticator secret of a seeded user, derived so both sides know it."""
    digest = hashlib.sha256(_SECRET_SALT + str(user_id).encode()).digest()[:20]
    return base64.b32encode(digest).decode()


def method_of(user_id):
    """The seeded method mix: 70% authenticator, 15% SMS, 10% key, 5% none."""
    slot = user_id % 20
    if slot == 0:
        return METHOD_NONE
    if slot <= 3:
        return "sms"
    if slot <= 5:
        return "webauthn"
    return "totp"


def totp_user_ids(users):
    return [i for i in range(1, users + 1) if method_of(i) == "totp"]
