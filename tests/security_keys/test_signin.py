"""Signing in with a security key as the second factor."""

import base64
import json
import logging
import re
from datetime import timedelta

import pytest

from fakes.authenticator import SoftAuthenticator
from mfasite import clock, messages
from mfasite.extensions import db
from mfasite.models import PendingSignIn, SecurityEvent

from .support import (
    CHALLENGE,
    ORIGIN,
    PASSWORD,
    SIGNIN_KEY,
    KeyActions,
    key_config,
)


def _decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pending(app):
    with app.app_context():
        return db.session.scalar(db.select(PendingSignIn))


def _event_kinds(app):
    with app.app_context():
        return db.session.scalars(
            db.select(SecurityEvent.kind).order_by(SecurityEvent.id)
        ).all()


def _signed_in(client):
    return client.get("/account/security").status_code == 200


@pytest.fixture
def at_challenge(user_with_key, actions):
    """The password is in; the challenge page asks for the key."""
    response = actions.signin()
    assert response.headers["Location"] == "/signin/challenge"
    return user_with_key["key"]


def test_challenge_page_offers_the_key(app, client, at_challenge):
    page = client.get("/signin/challenge").get_data(True)

    config = key_config(page)
    assert ">Use security key</button>" in page
    assert 'name="code"' not in page
    assert "Use a backup code" in page
    assert config["mode"] == "get"
    assert config["url"] == SIGNIN_KEY
    [allowed] = config["options"]["allowCredentials"]
    assert _decode(allowed["id"]) == at_challenge.credentials[0].id
    assert config["options"]["rpId"] == "localhost"


def test_challenge_is_random_kept_on_the_pending_signin_and_expires(
    app, client, at_challenge
):
    config = key_config(client.get("/signin/challenge").get_data(True))

    pending = _pending(app)
    assert _decode(config["options"]["challenge"]) == pending.webauthn_challenge
    assert len(pending.webauthn_challenge) >= 32
    expires_in = pending.webauthn_challenge_expires_at - clock.now()
    assert timedelta(minutes=4, seconds=59) < expires_in <= timedelta(minutes=5)
    assert pending.webauthn_challenge not in client.get_cookie("session").value.encode()


def test_challenge_page_has_no_inline_script(client, at_challenge):
    page = client.get("/signin/challenge").get_data(True)

    for tag in re.findall(r"<script\b[^>]*>", page):
        assert 'type="application/json"' in tag or " src=" in tag, tag


def test_signin_with_key_succeeds(app, client, keys, at_challenge):
    response = keys.use_key(at_challenge)

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/"
    assert _signed_in(client)
    assert _pending(app) is None
    [stored] = keys.stored()
    assert stored[3] == 1 and stored[4] is not None
    assert _event_kinds(app)[-1] == "signin"


def test_signin_with_key_keeps_counting(app, client, actions, keys, at_challenge):
    keys.use_key(at_challenge)
    actions.signout()
    actions.signin()

    response = keys.use_key(at_challenge)

    assert response.status_code == 204
    assert keys.stored()[0][3] == 2


def test_signin_with_key_without_counter_succeeds_each_time(actions, keys, client):
    key = SoftAuthenticator(counter=False)
    actions.signup()
    keys.enroll(key)
    for _ in range(2):
        actions.signout()
        actions.signin()

        assert keys.use_key(key).status_code == 204

    assert keys.stored()[0][3] == 0


def test_signin_with_either_of_two_keys(actions, keys, client):
    first, second = SoftAuthenticator(), SoftAuthenticator()
    actions.signup()
    keys.enroll(first, nickname="First")
    keys.enroll(second, nickname="Second")
    for key in (first, second):
        actions.signout()
        actions.signin()

        assert keys.use_key(key).status_code == 204

    assert [row[3] for row in keys.stored()] == [1, 1]


def test_signin_refusal_offers_a_fresh_challenge(app, client, keys, at_challenge):
    config = keys.signin_config()
    refused = keys.use_key(at_challenge, config, rp_id="evil.example")

    retry = key_config(refused.get_data(True))
    response = keys.use_key(at_challenge, retry)

    assert retry["options"]["challenge"] != config["options"]["challenge"]
    assert response.status_code == 204
    assert _signed_in(client)


def _answer(keys, key, case, app, client):
    """Set up one kind of bad answer; return the settings and body to post."""
    config = keys.signin_config()
    options = config["options"]
    if case == "tampered client data":
        credential = key.get(options, ORIGIN, tamper_client_data=True)
    elif case == "wrong origin":
        credential = key.get(options, "http://localhost:5001")
    elif case == "wrong RP id":
        credential = key.get(options, ORIGIN, rp_id="evil.example")
    elif case == "user not present":
        credential = key.get(options, ORIGIN, user_present=False)
    elif case == "same challenge twice":
        keys.post_json(config, {"credential": key.get(options, ORIGIN, rp_id="x")})
        credential = key.get(options, ORIGIN)
    elif case == "assertion replayed later":
        keys.post_json(config, {"credential": key.get(options, ORIGIN)})
        keys.client.post_form("/signout", token_from="/account/security")
        keys.client.post_form("/signin", {"email": "ada@example.com", **_password()})
        config = keys.signin_config()
        credential = key.replay()
    elif case == "another user's key":
        credential = _other_users_key(keys, app, options)
    elif case == "lower sign count":
        credential = key.get(options, ORIGIN, sign_count=0)
    elif case == "equal sign count":
        credential = key.get(options, ORIGIN, sign_count=1)
    elif case == "expired challenge":
        credential = key.get(options, ORIGIN)
        clock.offset += timedelta(minutes=5, seconds=1)
    elif case == "no credential":
        return config, json.dumps({"credential": None})
    elif case == "malformed JSON":
        return config, '{"credential": {"id": '
    elif case == "oversized body":
        credential = key.get(options, ORIGIN)
        return config, json.dumps({"credential": credential, "pad": "x" * 16384})
    return config, json.dumps({"credential": credential})


def _password():
    return {"password": PASSWORD}


def _other_users_key(keys, app, options):
    """Bob signs Ada's challenge with his own registered key."""
    with app.test_client() as bob_client:
        bob_client.__class__ = keys.client.__class__
        bob = KeyActions(bob_client, app)
        bob_client.post_form(
            "/signup",
            {
                "email": "bob@example.com",
                **_password(),
                "confirm": _password()["password"],
            },
            token_from="/signup",
        )
        bobs_key = SoftAuthenticator()
        bob.enroll(bobs_key)
    return bobs_key.get({**options, "allowCredentials": []}, ORIGIN)


@pytest.mark.parametrize(
    ("case", "logged"),
    [
        ("tampered client data", "Could not verify authentication signature"),
        ("wrong origin", "Unexpected client data origin"),
        ("wrong RP id", "Unexpected RP ID hash"),
        ("user not present", "User was not present"),
        ("same challenge twice", "challenge was not expected"),
        ("assertion replayed later", "challenge was not expected"),
        ("another user's key", "not one of this user's keys"),
        ("lower sign count", "SignCountRegressed"),
        ("equal sign count", "SignCountRegressed"),
        ("expired challenge", "CodeExpired"),
        ("no credential", "no credential"),
        ("malformed JSON", "malformed JSON"),
        ("oversized body", "(limit 16384)"),
    ],
)
def test_signin_bad_input_is_refused(
    app, client, keys, at_challenge, caplog, case, logged
):
    if case in ("lower sign count", "equal sign count"):
        _sign_in_once_more(keys, at_challenge)
    config, body = _answer(keys, at_challenge, case, app, client)
    before = keys.stored()
    caplog.set_level(logging.INFO, logger="mfasite")

    response = keys.post_json(config, None, raw=body)

    page = response.get_data(True)
    assert response.status_code == 400
    assert messages.SECURITY_KEY_FAILED in page
    assert page.lstrip().startswith('<div id="security-key-step">')
    assert key_config(page)["options"]["challenge"] != config["options"]["challenge"]
    assert keys.stored() == before
    assert not _signed_in(client)
    assert _pending(app) is not None
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and logged in refusals[0], refusals


def _sign_in_once_more(keys, key):
    """Leave the stored counter at 1, then stop at the challenge again."""
    keys.use_key(key)
    keys.client.post_form("/signout", token_from="/account/security")
    keys.client.post_form("/signin", {"email": "ada@example.com", **_password()})


def test_signin_lower_sign_count_records_a_cloned_key_event(
    app, client, keys, at_challenge
):
    _sign_in_once_more(keys, at_challenge)

    keys.use_key(at_challenge, sign_count=0)

    with app.app_context():
        event = db.session.scalar(
            db.select(SecurityEvent).where(SecurityEvent.kind == "possible_cloned_key")
        )
    assert event.detail == "Security key"
    page = keys.client.get("/signin/challenge").get_data(True)
    assert "Use security key" in page


def test_signin_forged_lower_sign_count_records_no_cloned_key_event(
    app, keys, at_challenge
):
    _sign_in_once_more(keys, at_challenge)

    keys.use_key(at_challenge, sign_count=0, tamper_client_data=True)

    assert "possible_cloned_key" not in _event_kinds(app)


def test_signin_with_old_cookie_restored_is_refused(app, client, keys, at_challenge):
    config = keys.signin_config()
    stolen = client.get_cookie("session").value
    credential = at_challenge.get(config["options"], ORIGIN)
    keys.post_json(config, {"credential": credential})
    client.post_form("/signout", token_from="/account/security")
    before = keys.stored()

    client.set_cookie("session", stolen)
    response = keys.post_json(config, {"credential": at_challenge.replay()})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/signin"
    assert not _signed_in(client)
    assert keys.stored() == before


def test_signin_without_csrf_header_is_refused(app, client, keys, at_challenge):
    config = keys.signin_config()
    credential = at_challenge.get(config["options"], ORIGIN)
    before = keys.stored()

    response = keys.post_json({**config, "csrfToken": ""}, {"credential": credential})

    assert response.status_code == 400
    assert messages.CSRF_FAILED in response.get_data(True)
    assert keys.stored() == before
    assert not _signed_in(client)


def test_signin_too_many_bad_answers_end_the_signin(app, client, keys, at_challenge):
    for _ in range(4):
        assert keys.use_key(at_challenge, rp_id="evil.example").status_code == 400

    response = keys.use_key(at_challenge, rp_id="evil.example")

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/signin"
    assert _pending(app) is None
    assert messages.TOO_MANY_ATTEMPTS in client.get("/signin").get_data(True)


def test_signin_after_the_pending_signin_expired_is_refused(
    app, client, keys, at_challenge
):
    config = keys.signin_config()
    credential = at_challenge.get(config["options"], ORIGIN)
    clock.offset += timedelta(minutes=11)

    response = keys.post_json(config, {"credential": credential})

    assert response.headers["HX-Redirect"] == "/signin"
    assert not _signed_in(client)
    assert keys.stored()[0][3] == 0
    assert messages.SIGNIN_EXPIRED in client.get("/signin").get_data(True)


def test_signin_with_backup_code_when_the_key_is_lost(app, client, actions):
    actions.signup()
    response = KeyActions(client, app).enroll(SoftAuthenticator())
    [code, *_] = re.findall(
        r"<li><code>([a-z0-9-]{9})</code></li>", response.get_data(True)
    )
    actions.signout()
    actions.signin()

    response = actions.challenge(code, method="backup")

    assert response.status_code == 303
    assert _signed_in(client)


def test_challenge_for_a_key_user_defaults_to_the_key(client, at_challenge):
    page = client.get(CHALLENGE.split("?")[0]).get_data(True)

    assert "data-security-key-config" in page
