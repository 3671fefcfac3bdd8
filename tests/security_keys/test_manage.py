"""Listing, renaming and removing security keys."""

import re
from datetime import timedelta

import pytest

from fakes.authenticator import SoftAuthenticator
from mfasite import clock, messages
from mfasite.extensions import db
from mfasite.models import SecurityEvent, WebAuthnCredential

SECURITY = "/account/security"


def _rename(client, key_id, nickname):
    return client.post_form(
        f"{SECURITY}/security-keys/{key_id}/rename",
        {"nickname": nickname},
        token_from=SECURITY,
        htmx=True,
    )


def _remove(client, key_id):
    return client.post_form(
        f"{SECURITY}/security-keys/{key_id}/remove", token_from=SECURITY, htmx=True
    )


def _key_ids(app):
    with app.app_context():
        return db.session.scalars(
            db.select(WebAuthnCredential.id).order_by(WebAuthnCredential.id)
        ).all()


@pytest.fixture
def two_keys(actions, keys):
    """A signed-in user with two security keys, "First" and "Second"."""
    actions.signup()
    keys.enroll(SoftAuthenticator(), nickname="First")
    keys.enroll(SoftAuthenticator(), nickname="Second")
    return _key_ids(keys.app)


def test_security_page_lists_the_keys(client, two_keys):
    page = client.get(SECURITY).get_data(True)

    names = re.findall(r'<strong class="key-name">([^<]+)</strong>', page)
    assert names == ["First", "Second"]
    assert "not used yet" in page
    assert 'aria-label="Rename First"' in page
    assert 'aria-label="Remove Second"' in page


def test_rename_key(app, client, keys, two_keys):
    response = _rename(client, two_keys[0], "  Blue   key ")

    assert response.status_code == 204
    assert [row[2] for row in keys.stored()] == ["Blue key", "Second"]
    assert "Security key renamed to “Blue key”." in client.get(SECURITY).get_data(True)


def test_rename_form_shows_the_current_name(client, two_keys):
    page = client.get(f"{SECURITY}/security-keys/{two_keys[1]}/rename").get_data(True)

    assert re.search(r'<input[^>]*name="nickname"[^>]*value="Second"', page)


@pytest.mark.parametrize(
    ("nickname", "message"),
    [
        ("second", messages.KEY_NICKNAME_TAKEN),
        ("", messages.KEY_NICKNAME_REQUIRED),
        ("k" * 65, messages.KEY_NICKNAME_TOO_LONG.format(max=64)),
    ],
)
def test_rename_key_with_bad_nickname_is_refused(
    client, keys, two_keys, nickname, message
):
    before = keys.stored()

    response = _rename(client, two_keys[0], nickname)

    assert response.status_code == 400
    assert message in response.get_data(True)
    assert keys.stored() == before


def test_rename_key_to_its_own_name_in_other_case(client, keys, two_keys):
    response = _rename(client, two_keys[0], "FIRST")

    assert response.status_code == 204
    assert keys.stored()[0][2] == "FIRST"


def test_rename_or_remove_another_users_key_is_not_found(app, client, keys, two_keys):
    client.post_form("/signout", token_from=SECURITY)
    client.post_form(
        "/signup",
        {
            "email": "bob@example.com",
            "password": "bob's password",
            "confirm": "bob's password",
        },
        token_from="/signup",
    )
    before = keys.stored()

    assert _rename(client, two_keys[0], "Mine now").status_code == 404
    assert _remove(client, two_keys[0]).status_code == 404
    assert keys.stored() == before


def test_remove_one_of_two_keys(app, client, actions, keys, two_keys):
    confirm = client.get(f"{SECURITY}/security-keys/{two_keys[0]}/remove")

    response = _remove(client, two_keys[0])

    assert "sign in with the security key “First”." in confirm.get_data(True)
    assert response.status_code == 204
    assert [row[2] for row in keys.stored()] == ["Second"]
    assert actions.user().preferred_method == "webauthn"
    assert "Security key “First” was removed." in client.get(SECURITY).get_data(True)
    with app.app_context():
        detail = db.session.scalar(
            db.select(SecurityEvent.detail).where(
                SecurityEvent.kind == "method_removed"
            )
        )
    assert detail == "Security key “First”"


def test_remove_last_key_when_it_is_the_only_method_is_refused(
    client, actions, keys, two_keys
):
    _remove(client, two_keys[0])
    before = keys.stored()

    confirm = client.get(f"{SECURITY}/security-keys/{two_keys[1]}/remove")
    response = _remove(client, two_keys[1])

    assert "Add another method before removing your only one." in confirm.get_data(True)
    assert response.status_code == 204
    assert messages.METHOD_NOT_REMOVABLE in client.get(SECURITY).get_data(True)
    assert keys.stored() == before
    assert actions.user().preferred_method == "webauthn"


def test_remove_last_key_when_another_method_remains(app, client, actions, keys):
    app.config["MFA_ALLOW_MULTIPLE"] = True
    actions.signup()
    actions.enroll_totp()
    keys.enroll(SoftAuthenticator())
    [key_id] = _key_ids(keys.app)
    page = client.get(SECURITY).get_data(True)
    manage_totp = client.get(f"{SECURITY}/methods/totp").get_data(True)

    response = _remove(client, key_id)

    assert response.status_code == 204
    assert keys.stored() == []
    assert actions.user().preferred_method == "totp"
    # Keys go one by one; only the other method has a method-wide Remove, in
    # its Manage dialog.
    assert 'hx-get="/account/security/methods/totp/remove"' in manage_totp
    assert 'hx-get="/account/security/methods/webauthn/remove"' not in page


def test_management_needs_recent_authentication(client, two_keys):
    clock.offset += timedelta(minutes=16)

    page = client.get(f"{SECURITY}/security-keys/{two_keys[0]}/remove").get_data(True)

    assert "Confirm it&#39;s you" in page
    assert "Use security key" in page
