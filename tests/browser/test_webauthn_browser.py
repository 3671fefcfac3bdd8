"""Security keys in a real browser, with Chromium's virtual authenticator (CDP)."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from mfasite import clock, messages
from mfasite.extensions import db
from mfasite.models import WebAuthnCredential

EMAIL = "hedy@example.com"
PASSWORD = "frequency hopping spread"

# Browsers without the WebAuthn Level 3 JSON helpers: the script's fallback.
WITHOUT_JSON_HELPERS = """
delete PublicKeyCredential.parseCreationOptionsFromJSON;
delete PublicKeyCredential.parseRequestOptionsFromJSON;
delete PublicKeyCredential.prototype.toJSON;
"""


def _stored(live_server):
    with live_server.app.app_context():
        return [
            (row.nickname, row.sign_count)
            for row in db.session.scalars(
                db.select(WebAuthnCredential).order_by(WebAuthnCredential.id)
            )
        ]


def _sign_up(page):
    page.goto("/signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()


def _open_enroll_dialog(page):
    page.goto("/account/security")
    page.get_by_role("button", name="Enroll Security key").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Add a security key")
    return dialog


def _enroll_first_key(page):
    dialog = _open_enroll_dialog(page)
    expect(dialog.get_by_label("Nickname")).to_have_value("Security key")
    dialog.get_by_role("button", name="Use security key").click()

    expect(dialog).to_contain_text("Security key is now active.")
    expect(dialog.locator("#backup-codes code")).to_have_count(10)
    dialog.get_by_label("I have saved these codes").check()
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def _sign_out_and_in(page):
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()


@pytest.mark.parametrize("helpers", ["json helpers", "base64url fallback"])
def test_enroll_key_sign_out_and_sign_in_with_it(
    page, live_server, virtual_keys, helpers
):
    if helpers == "base64url fallback":
        page.add_init_script(WITHOUT_JSON_HELPERS)
    authenticator = virtual_keys.add()
    _sign_up(page)

    _enroll_first_key(page)

    expect(page.locator("#method-webauthn")).to_contain_text("Active")
    expect(page.locator("#security-keys")).to_contain_text("Security key")
    assert len(virtual_keys.credentials(authenticator)) == 1
    assert _stored(live_server) == [("Security key", 1)]

    _sign_out_and_in(page)
    page.get_by_role("button", name="Use security key").click()

    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()
    assert _stored(live_server) == [("Security key", 2)]
    helpers_present = page.evaluate(
        "[typeof PublicKeyCredential.parseCreationOptionsFromJSON,"
        " typeof PublicKeyCredential.parseRequestOptionsFromJSON,"
        " typeof PublicKeyCredential.prototype.toJSON]"
    )
    expected = "function" if helpers == "json helpers" else "undefined"
    assert helpers_present == [expected] * 3


def test_two_keys_each_sign_in(page, live_server, virtual_keys):
    first = virtual_keys.add()
    _sign_up(page)
    _enroll_first_key(page)

    # The first key stays plugged in but is not touched: the second answers.
    virtual_keys.presence(first, False)
    second = virtual_keys.add()
    dialog = _open_enroll_dialog(page)
    expect(dialog.get_by_label("Nickname")).to_have_value("Security key 2")
    dialog.get_by_label("Nickname").fill("Spare key")
    dialog.get_by_role("button", name="Use security key").click()

    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text(
        "Security key “Spare key” was added."
    )
    expect(page.locator("#security-keys .key-name")).to_have_text(
        ["Security key", "Spare key"]
    )

    # Each sign-in moves the counter of the key touched, and only that one.
    for index, (touched, idle) in enumerate(((first, second), (second, first))):
        before = [count for _, count in _stored(live_server)]
        virtual_keys.presence(touched, True)
        virtual_keys.presence(idle, False)
        _sign_out_and_in(page)
        page.get_by_role("button", name="Use security key").click()
        expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()

        after = [count for _, count in _stored(live_server)]
        assert after[index] > before[index]
        assert after[1 - index] == before[1 - index]


def test_same_key_cannot_be_enrolled_twice(page, live_server, virtual_keys):
    virtual_keys.add()
    _sign_up(page)
    _enroll_first_key(page)

    dialog = _open_enroll_dialog(page)
    dialog.get_by_role("button", name="Use security key").click()

    expect(dialog.get_by_role("alert")).to_have_text(messages.SECURITY_KEY_REGISTERED)
    assert len(_stored(live_server)) == 1


def test_cancelled_request_can_be_tried_again(page, live_server, virtual_keys):
    # An authenticator nobody touches: the browser gives up after the timeout.
    live_server.app.config["WEBAUTHN_TIMEOUT_MS"] = 1000
    authenticator = virtual_keys.add(presence=False)
    _sign_up(page)
    dialog = _open_enroll_dialog(page)

    dialog.get_by_role("button", name="Use security key").click()

    status = dialog.locator("[data-security-key-status]")
    expect(status).to_have_text(messages.SECURITY_KEY_CANCELLED, timeout=20_000)
    assert _stored(live_server) == []
    assert virtual_keys.credentials(authenticator) == []

    virtual_keys.presence(authenticator, True)
    dialog.get_by_role("button", name="Use security key").click()
    expect(dialog).to_contain_text("Security key is now active.")
    assert len(_stored(live_server)) == 1


def test_cancelled_signin_can_be_tried_again(page, live_server, virtual_keys):
    authenticator = virtual_keys.add()
    _sign_up(page)
    _enroll_first_key(page)
    live_server.app.config["WEBAUTHN_TIMEOUT_MS"] = 1000
    virtual_keys.presence(authenticator, False)
    _sign_out_and_in(page)

    page.get_by_role("button", name="Use security key").click()

    alert = page.locator("[data-security-key-status]")
    expect(alert).to_have_text(messages.SECURITY_KEY_CANCELLED, timeout=20_000)
    assert _stored(live_server) == [("Security key", 1)]

    virtual_keys.presence(authenticator, True)
    page.get_by_role("button", name="Use security key").click()
    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()


def test_remove_a_key(page, live_server, virtual_keys):
    first = virtual_keys.add()
    _sign_up(page)
    _enroll_first_key(page)
    virtual_keys.presence(first, False)
    virtual_keys.add()
    dialog = _open_enroll_dialog(page)
    dialog.get_by_label("Nickname").fill("Spare key")
    dialog.get_by_role("button", name="Use security key").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_role("button", name="Remove Security key").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("the security key “Security key”")
    dialog.get_by_role("button", name="Remove").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Security key “Security key” was removed."
    )
    expect(page.locator("#security-keys .key-name")).to_have_text(["Spare key"])
    assert [name for name, _ in _stored(live_server)] == ["Spare key"]

    # The last key is the only method: it stays.
    page.get_by_role("button", name="Remove Spare key").click()
    expect(page.get_by_role("dialog")).to_contain_text(
        "Add another method before removing your only one."
    )


def test_browser_without_webauthn_is_told_to_use_another_method(page, live_server):
    page.add_init_script("delete window.PublicKeyCredential;")
    _sign_up(page)

    dialog = _open_enroll_dialog(page)

    expect(dialog.locator("[data-security-key-status]")).to_have_text(
        messages.SECURITY_KEY_UNSUPPORTED
    )
    expect(dialog.get_by_role("button", name="Use security key")).to_be_disabled()
    expect(dialog.get_by_label("Nickname")).to_be_visible()


def test_reauthenticate_with_key_before_adding_another(page, live_server, virtual_keys):
    virtual_keys.add()
    _sign_up(page)
    _enroll_first_key(page)
    clock.offset += timedelta(minutes=16)

    page.goto("/account/security")
    page.get_by_role("button", name="Enroll Security key").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Confirm it's you")
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Use security key").click()

    expect(dialog.get_by_role("heading", name="Add a security key")).to_be_visible()
    expect(dialog.get_by_label("Nickname")).to_have_value("Security key 2")
    assert _stored(live_server)[0][1] == 2


def test_user_verification_required_by_settings(page, live_server, virtual_keys):
    live_server.app.config["WEBAUTHN_USER_VERIFICATION"] = "required"
    virtual_keys.add(user_verification=True)
    _sign_up(page)

    _enroll_first_key(page)
    _sign_out_and_in(page)
    page.get_by_role("button", name="Use security key").click()

    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()
