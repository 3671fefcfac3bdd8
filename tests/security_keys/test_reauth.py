"""Re-authenticating with a security key before changing sign-in methods."""

import json
import logging
import re
from datetime import timedelta

import pytest
from markupsafe import escape

from mfasite import clock, messages
from mfasite.extensions import db
from mfasite.models import SecurityEvent

from .support import ENROLL, ORIGIN, PASSWORD, key_config

DIALOG = {"HX-Request": "true", "HX-Target": "modal-root"}


@pytest.fixture
def stale(actions, keys, key, client):
    """A user whose only method is a key, signed in long enough ago to re-auth."""
    actions.signup()
    response = keys.enroll(key)
    codes = re.findall(r"<li><code>([a-z0-9-]{9})</code></li>", response.get_data(True))
    clock.offset += timedelta(minutes=16)
    return codes


def _reauth_step(client):
    page = client.get(ENROLL, headers=DIALOG).get_data(True)
    assert "Confirm it&#39;s you" in page
    return page


def _reauthenticated(client):
    return "data-security-key-config" in client.get(ENROLL).get_data(True) and (
        "Confirm it&#39;s you" not in client.get(ENROLL).get_data(True)
    )


def test_reauth_step_offers_the_key(client, stale):
    config = key_config(_reauth_step(client))

    assert config["mode"] == "get"
    assert config["url"] == "/account/security/reauthenticate/security-key"
    assert config["target"] == "modal-step"
    assert len(config["options"]["allowCredentials"]) == 1


def test_reauth_with_password_and_key(client, keys, key, stale):
    config = key_config(_reauth_step(client))
    credential = key.get(config["options"], ORIGIN)

    response = keys.post_json(
        config, {"password": PASSWORD, "next": ENROLL, "credential": credential}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == ENROLL
    assert keys.stored()[0][3] == 1
    page = client.get(ENROLL).get_data(True)
    assert "Add a security key" in page and "Confirm it&#39;s you" not in page


def test_reauth_with_backup_code_for_a_key_only_user(client, stale):
    _reauth_step(client)

    response = client.post_form(
        "/account/security/reauthenticate",
        {"password": PASSWORD, "code": stale[0], "next": ENROLL},
        token_from=ENROLL,
        htmx=True,
    )

    assert response.status_code == 303
    assert "Confirm it&#39;s you" not in client.get(ENROLL).get_data(True)


def _bad_reauth(keys, key, case, config):
    options = config["options"]
    body = {"password": PASSWORD, "next": ENROLL}
    if case == "wrong password":
        body["password"] = "not the password"
        body["credential"] = key.get(options, ORIGIN)
    elif case == "wrong RP id":
        body["credential"] = key.get(options, ORIGIN, rp_id="evil.example")
    elif case == "tampered client data":
        body["credential"] = key.get(options, ORIGIN, tamper_client_data=True)
    elif case == "lower sign count":
        body["credential"] = key.get(options, ORIGIN, sign_count=0)
    elif case == "malformed JSON":
        return '{"password": '
    elif case == "oversized body":
        body["credential"] = key.get(options, ORIGIN)
        body["pad"] = "x" * 16384
    return json.dumps(body)


@pytest.mark.parametrize(
    ("case", "logged"),
    [
        ("wrong password", "wrong password"),
        ("wrong RP id", "RP ID hash"),
        ("tampered client data", "signature"),
        ("lower sign count", "SignCountRegressed"),
        ("malformed JSON", "malformed JSON"),
        ("oversized body", "(limit 16384)"),
    ],
)
def test_reauth_bad_input_is_refused(
    app, client, keys, key, stale, caplog, case, logged
):
    if case == "lower sign count":
        key.credentials[0].sign_count = 4
        config = key_config(_reauth_step(client))
        credential = key.get(config["options"], ORIGIN)
        keys.post_json(config, {"password": PASSWORD, "credential": credential})
        clock.offset += timedelta(minutes=16)
    config = key_config(_reauth_step(client))
    body = _bad_reauth(keys, key, case, config)
    before = keys.stored()
    caplog.set_level(logging.INFO, logger="mfasite")

    response = keys.post_json(config, None, raw=body)

    page = response.get_data(True)
    assert response.status_code == 400
    assert escape(messages.REAUTH_FAILED) in page
    assert key_config(page)["options"]["challenge"] != config["options"]["challenge"]
    assert keys.stored() == before
    assert "Confirm it&#39;s you" in client.get(ENROLL).get_data(True)
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and logged in refusals[0], refusals


def test_reauth_lower_sign_count_records_a_cloned_key_event(
    app, client, keys, key, stale
):
    key.credentials[0].sign_count = 4
    config = key_config(_reauth_step(client))
    keys.post_json(
        config,
        {"password": PASSWORD, "credential": key.get(config["options"], ORIGIN)},
    )
    clock.offset += timedelta(minutes=16)
    config = key_config(_reauth_step(client))

    keys.post_json(
        config,
        {
            "password": PASSWORD,
            "credential": key.get(config["options"], ORIGIN, sign_count=2),
        },
    )

    with app.app_context():
        kinds = db.session.scalars(db.select(SecurityEvent.kind)).all()
    assert "possible_cloned_key" in kinds
