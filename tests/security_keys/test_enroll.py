"""Adding a security key from the Password & Security page."""

import base64
import json
import logging
import re
from datetime import timedelta

import pytest

from fakes.authenticator import SoftAuthenticator
from mfasite import clock, messages
from mfasite.extensions import db
from mfasite.models import SecurityEvent, TotpDevice, WebAuthnCredential

from .support import ENROLL, ORIGIN, key_config

_SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.I)


def _events(app, kind):
    with app.app_context():
        return db.session.scalars(
            db.select(SecurityEvent.detail).where(SecurityEvent.kind == kind)
        ).all()


def _preferred(actions):
    return actions.user().preferred_method


@pytest.fixture
def signed_up(actions):
    actions.signup()


def test_enroll_dialog_explains_and_asks_for_a_nickname(client, signed_up):
    response = client.get(
        ENROLL, headers={"HX-Request": "true", "HX-Target": "modal-root"}
    )

    page = response.get_data(True)
    assert response.status_code == 200
    assert '<dialog class="modal"' in page
    assert "Add a security key" in page
    assert "touch it" in page
    assert re.search(r'<input[^>]*name="nickname"[^>]*value="Security key"', page)
    assert re.search(r'<input[^>]*maxlength="64"[^>]*name="nickname"', page)
    assert ">Use security key</button>" in page
    assert key_config(page)["mode"] == "create"


def test_enroll_pages_have_no_inline_script(client, signed_up):
    for headers in ({}, {"HX-Request": "true", "HX-Target": "modal-root"}):
        page = client.get(ENROLL, headers=headers).get_data(True)

        for tag in _SCRIPT_TAG.findall(page):
            assert 'type="application/json"' in tag or " src=" in tag, tag


def test_security_page_offers_security_keys(client, signed_up):
    page = client.get("/account/security").get_data(True)

    assert 'hx-get="/account/security/security-key"' in page
    assert 'aria-label="Enroll Security key"' in page


def test_enroll_key_activates_the_method(app, actions, keys, key, signed_up):
    response = keys.enroll(key)

    page = response.get_data(True)
    assert response.status_code == 200
    assert "Security key is now active." in page
    assert len(re.findall(r"<li><code>[a-z0-9]{4}-[a-z0-9]{4}</code></li>", page)) == 10
    [stored] = keys.stored()
    assert stored[1:4] == (key.credentials[0].id, "Security key", 0)
    assert _preferred(actions) == "webauthn"
    assert _events(app, "method_added") == ["Security key"]


def test_enroll_key_stores_public_key_and_transports(app, keys, signed_up):
    key = SoftAuthenticator(transports=("usb", "nfc"))

    keys.enroll(key, nickname="Blue key")

    with app.app_context():
        stored = db.session.scalar(db.select(WebAuthnCredential))
        assert stored.public_key == key.credentials[0].cose_public_key()
        assert stored.transports == "usb,nfc"
        assert stored.nickname == "Blue key"


def test_enroll_second_key_is_the_same_method(app, actions, keys, key, signed_up):
    keys.enroll(key)

    page = actions.client.get(ENROLL).get_data(True)
    config = key_config(page)
    second = SoftAuthenticator()
    response = keys.post_json(
        config,
        {
            "nickname": "Spare key",
            "credential": second.create(config["options"], ORIGIN),
        },
    )

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/account/security"
    assert 'value="Security key 2"' in page
    assert [row[2] for row in keys.stored()] == ["Security key", "Spare key"]
    assert _events(app, "method_added") == ["Security key", "Security key “Spare key”"]
    security = actions.client.get("/account/security").get_data(True)
    assert "Security key “Spare key” was added." in security
    assert security.count('class="key"') == 2


def test_enroll_options_exclude_keys_already_registered(keys, key, signed_up):
    keys.enroll(key)

    config = keys.enroll_config()

    [excluded] = config["options"]["excludeCredentials"]
    assert excluded["transports"] == ["usb"]


def test_enroll_key_replaces_the_authenticator_app(app, actions, keys, key):
    actions.signup()
    actions.enroll_totp()

    keys.enroll(key)

    assert _preferred(actions) == "webauthn"
    with app.app_context():
        assert db.session.scalar(db.select(TotpDevice)) is None


def test_enroll_needs_recent_authentication(client, signed_up):
    clock.offset += timedelta(minutes=16)

    page = client.get(ENROLL).get_data(True)

    assert "Confirm it&#39;s you" in page
    assert "data-security-key-config" not in page


def _refused(response):
    page = response.get_data(True)
    assert response.status_code == 400
    return page


@pytest.mark.parametrize(
    ("nickname", "message"),
    [
        ("", messages.KEY_NICKNAME_REQUIRED),
        ("   ", messages.KEY_NICKNAME_REQUIRED),
        ("k" * 65, messages.KEY_NICKNAME_TOO_LONG.format(max=64)),
    ],
)
def test_enroll_with_bad_nickname_is_refused(actions, keys, key, nickname, message):
    actions.signup()

    page = _refused(keys.enroll(key, nickname=nickname))

    assert message in page
    assert keys.stored() == []
    assert _preferred(actions) is None


def test_enroll_nickname_of_64_characters_is_accepted(keys, key, signed_up):
    keys.enroll(key, nickname="k" * 64)

    assert keys.stored()[0][2] == "k" * 64


def test_enroll_nickname_is_cleaned(keys, key, signed_up):
    keys.enroll(key, nickname="  Blue\x00 key\n")

    assert keys.stored()[0][2] == "Blue key"


def test_enroll_with_nickname_in_use_is_refused(keys, key, signed_up):
    keys.enroll(key, nickname="Blue key")
    before = keys.stored()

    page = _refused(keys.enroll(SoftAuthenticator(), nickname="BLUE KEY"))

    assert messages.KEY_NICKNAME_TAKEN in page
    assert keys.stored() == before


def test_enroll_refusal_offers_a_fresh_try(keys, key, signed_up):
    config = keys.enroll_config()
    keys.post_json(config, {"nickname": "Key", "credential": {"id": "nonsense"}})

    retry = key_config(keys.client.get(ENROLL).get_data(True))
    response = keys.post_json(
        retry,
        {"nickname": "Key", "credential": key.create(retry["options"], ORIGIN)},
    )

    assert response.status_code == 200
    assert len(keys.stored()) == 1


def _bad_registration(keys, key, case):
    """Set up one kind of bad registration; return the settings and the body."""
    config = keys.enroll_config()
    options = config["options"]
    if case == "wrong origin":
        credential = key.create(options, "http://evil.localhost:5000")
    elif case == "wrong RP id":
        credential = key.create(options, ORIGIN, rp_id="evil.example")
    elif case == "user not present":
        credential = key.create(options, ORIGIN, user_present=False)
    elif case == "tampered client data":
        credential = key.create(options, ORIGIN)
        data = json.loads(_decode(credential["response"]["clientDataJSON"]))
        data["challenge"] = _encode(b"another challenge of 32 bytes...")
        credential["response"]["clientDataJSON"] = _encode(json.dumps(data).encode())
    elif case == "expired challenge":
        credential = key.create(options, ORIGIN)
        clock.offset += timedelta(minutes=5, seconds=1)
    elif case == "replayed registration":
        credential = key.create(options, ORIGIN)
        keys.post_json(config, {"nickname": "First", "credential": credential})
        config = keys.enroll_config()
    elif case == "malformed JSON":
        return config, '{"nickname": "Key", "credential": {'
    elif case == "oversized body":
        padding = "x" * (16 * 1024)
        credential = key.create(options, ORIGIN)
        return config, json.dumps({"credential": credential, "padding": padding})
    return config, json.dumps({"nickname": "Key", "credential": credential})


def _decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("case", "logged"),
    [
        ("wrong origin", "origin"),
        ("wrong RP id", "RP ID hash"),
        ("user not present", "User presence"),
        ("tampered client data", "challenge was not expected"),
        ("expired challenge", "CodeExpired"),
        ("replayed registration", "challenge was not expected"),
        ("malformed JSON", "malformed JSON"),
        ("oversized body", "(limit 16384)"),
    ],
)
def test_enroll_bad_input_is_refused(actions, keys, key, caplog, case, logged):
    actions.signup()
    config, body = _bad_registration(keys, key, case)
    before, preferred = keys.stored(), _preferred(actions)
    caplog.set_level(logging.INFO, logger="mfasite")

    page = _refused(keys.post_json(config, None, raw=body))

    assert messages.SECURITY_KEY_FAILED in page
    assert 'id="modal-step"' in page
    assert key_config(page)["options"]["challenge"] != config["options"]["challenge"]
    assert keys.stored() == before
    assert _preferred(actions) == preferred
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and logged in refusals[0], refusals
