"""Every page and modal step, at phone and desktop width: axe-core, no sideways
scrolling, and (with MFASITE_SCREENSHOTS=1) a screenshot in docs/screenshots."""

from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect
from sms_support import TYPED, last_code, opt_out_directly, wrong

from mfasite import clock


@pytest.fixture(params=["desktop", "mobile"])
def width(request, inspect):
    if request.param == "mobile":
        inspect.mobile()
    return request.param


def test_signin_and_signup_pages_pass(page, person, live_server, inspect, width):
    page.goto("/signin")
    inspect("signin")

    person.sign_in(password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password.")
    inspect("signin-error")

    page.get_by_role("link", name="Create an account").click()
    inspect("signup")
    page.get_by_label("Email").fill("not an email")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    inspect("signup-errors")


@pytest.mark.parametrize("config_overrides", [{"MFA_GRACE_SIGNINS": 3}])
def test_notification_bar_and_blocked_state_pass(
    page, person, live_server, inspect, width
):
    person.sign_up()
    bar = page.get_by_role("status").filter(has_text="Set up multi-factor")
    expect(bar).to_contain_text("You have 2 more sign-ins before it is required.")
    inspect("notification-bar")

    page.get_by_role("link", name="Account settings").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    inspect("profile")

    for _ in range(3):
        page.get_by_role("button", name="Sign out").click()
        person.sign_in()
    expect(page.get_by_role("alert")).to_contain_text("is required")
    expect(page.get_by_role("heading", name="Password & Security")).to_be_visible()
    inspect("blocked")


def test_security_page_and_authenticator_steps_pass(
    page, person, live_server, inspect, width
):
    person.sign_up()
    page.goto("/account/security")
    inspect("security-empty")

    page.get_by_role("button", name="Enroll Authenticator app").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator(".qr svg")).to_be_visible()
    inspect("totp-1-scan")
    dialog.get_by_text("Can't scan it?").click()
    secret = dialog.locator("code.secret").inner_text()
    inspect("totp-1-key")

    dialog.get_by_role("link", name="Continue").click()
    expect(dialog.get_by_label("Code", exact=True)).to_be_focused()
    inspect("totp-2-verify")
    dialog.get_by_label("Code", exact=True).fill("000000")
    dialog.get_by_role("button", name="Verify").click()
    expect(dialog.get_by_role("alert")).to_contain_text("didn't work")
    inspect("totp-2-error")

    dialog.get_by_label("Code", exact=True).fill(
        pyotp.TOTP(secret).at(clock.timestamp())
    )
    dialog.get_by_role("button", name="Verify").click()
    expect(dialog.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    inspect("backup-codes")

    dialog.get_by_label("I have saved these codes").check()
    dialog.get_by_role("button", name="Done").click()
    expect(page.locator("#method-totp")).to_contain_text("Active")
    inspect("security")

    page.get_by_role("button", name="Create new backup codes").click()
    expect(dialog).to_contain_text("replace your current ones")
    inspect("backup-regenerate")
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Manage Authenticator app").click()
    title = dialog.get_by_role("heading", name="Authenticator app", exact=True)
    expect(title).to_be_visible()
    inspect("manage-totp")
    page.keyboard.press("Escape")

    # Past the re-authentication window, a change first asks who it is.
    clock.offset += timedelta(minutes=16)
    page.get_by_role("button", name="Manage Authenticator app").click()
    dialog.get_by_role("button", name="Set up again").click()
    expect(dialog.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    inspect("reauth")
    dialog.get_by_label("Password").fill("wrong password")
    dialog.get_by_label("Code", exact=True).fill("000000")
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog.get_by_role("alert")).to_be_visible()
    inspect("reauth-error")


def test_challenge_pages_pass(
    page, person, live_server, inspect, width, user_with_totp
):
    person.sign_in(user_with_totp["email"], "correct horse battery")
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    inspect("challenge-totp")

    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't work")
    inspect("challenge-error")

    page.get_by_role("link", name="Use a backup code").click()
    expect(page.get_by_text("Enter one of the backup codes")).to_be_visible()
    inspect("challenge-backup")


def test_error_and_full_page_steps_pass(page, person, live_server, inspect, width):
    page.goto("/no-such-page")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    inspect("not-found")

    person.sign_up()
    page.goto("/account/security/authenticator")
    heading = page.get_by_role("heading", name="Set up an authenticator app")
    expect(heading).to_be_visible()
    inspect("totp-full-page")
    page.goto("/account/security/authenticator/verify")
    inspect("totp-verify-full-page")


def test_sms_steps_and_challenges_pass(page, person, live_server, app, inspect, width):
    person.sign_up()
    page.goto("/account/security")
    page.get_by_role("button", name="Enroll SMS code").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Phone number")).to_be_focused()
    inspect("sms-1-phone")

    dialog.get_by_label("Phone number").fill("+44 20 7946 0958")
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog.get_by_role("alert")).to_contain_text("only country code +1")
    inspect("sms-1-error")

    dialog.get_by_label("Phone number").fill(TYPED)
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog.get_by_label("Code", exact=True)).to_be_focused()
    inspect("sms-2-verify")
    dialog.get_by_label("Code", exact=True).fill(wrong(last_code(app)))
    dialog.get_by_role("button", name="Verify").click()
    expect(dialog.get_by_role("alert")).to_contain_text("didn't work")
    inspect("sms-2-error")

    dialog.get_by_label("Code", exact=True).fill(last_code(app))
    dialog.get_by_role("button", name="Verify").click()
    backup_code = dialog.locator("#backup-codes code").first.inner_text()
    dialog.get_by_label("I have saved these codes").check()
    dialog.get_by_role("button", name="Done").click()
    expect(page.locator("#method-sms")).to_contain_text("Active")
    inspect("security-sms")

    page.get_by_role("button", name="Manage SMS code").click()
    expect(dialog.get_by_role("button", name="Change number")).to_be_visible()
    inspect("manage-sms")
    clock.offset += timedelta(minutes=16)
    dialog.get_by_role("button", name="Change number").click()
    expect(dialog.get_by_role("button", name="Send a code")).to_be_visible()
    inspect("reauth-sms")
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Sign out").click()
    person.sign_in()
    expect(page.get_by_text("Enter the 6-digit code we sent to")).to_be_visible()
    inspect("challenge-sms")
    page.get_by_role("button", name="Cancel and start over").click()

    opt_out_directly(app)
    person.sign_in()
    expect(page.get_by_role("alert")).to_contain_text("You have opted out of SMS.")
    inspect("challenge-sms-opted-out")
    page.get_by_role("link", name="Use a backup code").click()
    page.get_by_label("Code").fill(backup_code)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#sms-opted-out-bar")).to_be_visible()
    inspect("sms-opted-out-bar")

    page.goto("/dev/outbox")
    expect(page.get_by_role("heading", name="SMS outbox")).to_be_visible()
    inspect("dev-outbox")


def test_security_key_steps_and_challenges_pass(
    page, person, live_server, inspect, width, virtual_keys
):
    key = virtual_keys.add()
    # A key nobody touches: after a second the browser gives up.
    live_server.app.config["WEBAUTHN_TIMEOUT_MS"] = 1000
    person.sign_up()
    page.goto("/account/security")
    page.get_by_role("button", name="Enroll Security key").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Nickname")).to_be_focused()
    inspect("key-1-name")

    virtual_keys.presence(key, False)
    dialog.get_by_role("button", name="Use security key").click()
    expect(dialog.get_by_role("alert")).to_contain_text("cancelled", timeout=20_000)
    inspect("key-1-cancelled")

    virtual_keys.presence(key, True)
    dialog.get_by_role("button", name="Use security key").click()
    expect(dialog).to_contain_text("Security key is now active.")
    dialog.get_by_label("I have saved these codes").check()
    dialog.get_by_role("button", name="Done").click()
    expect(page.locator("#security-keys")).to_contain_text("Security key")
    inspect("security-keys")

    page.get_by_role("button", name="Rename Security key").click()
    expect(dialog.get_by_label("Nickname")).to_be_focused()
    inspect("key-rename")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Remove Security key").click()
    expect(dialog).to_contain_text("Add another method before removing your only one.")
    inspect("key-remove-only")
    page.keyboard.press("Escape")

    clock.offset += timedelta(minutes=16)
    page.get_by_role("button", name="Enroll Security key").click()
    expect(dialog.get_by_role("button", name="Use security key")).to_be_visible()
    inspect("reauth-key")
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Sign out").click()
    person.sign_in()
    expect(page.get_by_role("button", name="Use security key")).to_be_visible()
    inspect("challenge-key")
    virtual_keys.presence(key, False)
    page.get_by_role("button", name="Use security key").click()
    expect(page.get_by_role("alert")).to_contain_text("cancelled", timeout=20_000)
    inspect("challenge-key-cancelled")
