"""What the security key script does, for tests: read options, ask the key, post."""

import json
import re

from mfasite.extensions import db
from mfasite.models import WebAuthnCredential

# The development relying party the tests run against (no settings needed).
ORIGIN = "http://localhost:5000"
RP_ID = "localhost"
# The password tests/conftest.py signs people up with.
PASSWORD = "correct horse battery"

ENROLL = "/account/security/security-key"
SIGNIN_KEY = "/signin/security-key"
CHALLENGE = "/signin/challenge?method=webauthn"

_CONFIG = re.compile(
    r'<script type="application/json" data-security-key-config>(.*?)</script>', re.S
)


def key_config(page):
    """The settings a page gives its "Use security key" button."""
    match = _CONFIG.search(page)
    assert match, "no security key settings on the page"
    return json.loads(match.group(1))


class KeyActions:
    """What the page script does: read the options, ask the key, post JSON."""

    def __init__(self, client, app):
        self.client = client
        self.app = app

    def post_json(self, config, payload, raw=None, headers=None):
        body = raw if raw is not None else json.dumps(payload)
        return self.client.post(
            config["url"],
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": config["csrfToken"],
                "HX-Request": "true",
                "HX-Target": config["target"],
                **(headers or {}),
            },
        )

    def enroll_config(self, path=ENROLL):
        response = self.client.get(path, headers={"HX-Request": "true"})
        assert response.status_code == 200, response.get_data(True)
        return key_config(response.get_data(True))

    def enroll(self, key, nickname="Security key", **create):
        """Add a key through the dialog; return the server's answer."""
        config = self.enroll_config()
        credential = key.create(config["options"], ORIGIN, **create)
        return self.post_json(config, {"nickname": nickname, "credential": credential})

    def signin_config(self):
        response = self.client.get(CHALLENGE)
        assert response.status_code == 200, response.get_data(True)
        return key_config(response.get_data(True))

    def use_key(self, key, config=None, **get):
        """Answer the sign-in challenge with the key; return the server's answer."""
        config = config or self.signin_config()
        credential = key.get(config["options"], ORIGIN, **get)
        return self.post_json(config, {"credential": credential})

    def stored(self):
        """Every stored key as plain values, to compare before and after."""
        with self.app.app_context():
            rows = db.session.scalars(
                db.select(WebAuthnCredential).order_by(WebAuthnCredential.id)
            ).all()
            return [
                (
                    row.user_id,
                    row.credential_id,
                    row.nickname,
                    row.sign_count,
                    row.last_used_at,
                )
                for row in rows
            ]
