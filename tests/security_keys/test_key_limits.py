"""Security keys under the hardening rules: budgets, remember-me, ended sessions."""

from datetime import timedelta

import pytest

from fakes.authenticator import SoftAuthenticator
from mfasite import clock
from mfasite.extensions import db
from mfasite.models import UserSession

from .support import ENROLL, ORIGIN, PASSWORD, KeyActions, key_config


def _sessions(app):
    with app.app_context():
        return db.session.scalars(db.select(UserSession.remembered)).all()


@pytest.fixture
def at_challenge(user_with_key, actions):
    assert actions.signin().headers["Location"] == "/signin/challenge"
    return user_with_key["key"]


def test_key_signin_draws_on_the_second_factor_budget(app, keys, at_challenge):
    app.config["SECOND_FACTOR_LIMIT"] = "1 per day"
    assert keys.use_key(at_challenge, rp_id="evil.example").status_code == 400

    response = keys.use_key(at_challenge)

    assert response.status_code == 429
    assert "Too many verification codes were tried" in response.get_data(True)
    assert _sessions(app) == []


def test_key_step_offers_keep_me_signed_in(client, at_challenge):
    page = client.get("/signin/challenge").get_data(True)

    form = page[page.index("<form data-security-key-form") :]
    assert 'name="remember" type="checkbox"' in form[: form.index("</form>")]


def test_key_signin_with_the_box_ticked_is_remembered(app, keys, at_challenge):
    config = keys.signin_config()
    credential = at_challenge.get(config["options"], ORIGIN)

    response = keys.post_json(config, {"credential": credential, "remember": "y"})

    assert response.status_code == 204
    assert any(
        value.startswith("remember_token=")
        for value in response.headers.getlist("Set-Cookie")
    )
    assert _sessions(app) == [True]


def test_key_signin_without_the_box_is_not_remembered(app, keys, at_challenge):
    response = keys.use_key(at_challenge)

    assert response.status_code == 204
    assert _sessions(app) == [False]


def test_key_reauth_wrong_passwords_count_against_the_account(
    app, client, actions, keys, key, new_browser
):
    app.config["PASSWORD_FAILURE_LIMIT"] = "2 per hour"
    actions.signup()
    keys.enroll(key)
    clock.offset += timedelta(minutes=16)
    page = client.get(ENROLL, headers={"HX-Request": "true"}).get_data(True)
    config = key_config(page)

    for _ in range(2):
        credential = key.get(config["options"], ORIGIN)
        response = keys.post_json(
            config, {"password": "wrong", "next": ENROLL, "credential": credential}
        )
        assert response.status_code == 400
    credential = key.get(config["options"], ORIGIN)
    response = keys.post_json(
        config, {"password": PASSWORD, "next": ENROLL, "credential": credential}
    )

    assert response.status_code == 429
    assert response.get_data(True).startswith('<div class="modal-step"')


def test_removing_a_key_ends_other_sessions(app, client, actions, keys, new_browser):
    first, second = SoftAuthenticator(), SoftAuthenticator()
    actions.signup()
    keys.enroll(first, nickname="First")
    keys.enroll(second, nickname="Second")
    other = new_browser()
    other.signin()
    assert KeyActions(other.client, app).use_key(first).status_code == 204
    assert other.client.get("/").status_code == 200
    with app.app_context():
        key_id = db.session.scalar(
            db.text("SELECT id FROM webauthn_credential WHERE nickname = 'First'")
        )

    response = client.post_form(
        f"/account/security/security-keys/{key_id}/remove",
        token_from="/account/security",
        htmx=True,
    )

    assert response.status_code == 204
    assert other.client.get("/").status_code == 302
    assert client.get("/").status_code == 200
    assert len(_sessions(app)) == 1
