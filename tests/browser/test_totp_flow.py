"""The whole authenticator-app journey in a real browser."""

import re
from datetime import timedelta

import pyotp
from playwright.sync_api import expect

from mfasite import clock

EMAIL = "grace@example.com"
PASSWORD = "a long passphrase here"


def _code(secret, steps=0):
    return pyotp.TOTP(secret).at(clock.timestamp() + steps * 30)


def test_signup_enroll_signout_signin_with_code(page, live_server):
    page.goto("/signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    bar = page.get_by_role("status").filter(has_text="Set up multi-factor")
    expect(bar).to_contain_text("From your next sign-in on")
    bar.get_by_role("link", name="Set it up now").click()
    expect(page.get_by_role("heading", name="Password & Security")).to_be_visible()

    page.get_by_role("button", name="Enroll Authenticator app").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"mfasite: {EMAIL}")
    expect(dialog.locator("svg")).to_be_visible()
    dialog.get_by_text("Can't scan it?").click()
    secret = dialog.locator("code.secret").inner_text()

    dialog.get_by_role("link", name="Continue").click()
    code_field = dialog.get_by_label("Code")
    expect(code_field).to_be_focused()
    code_field.fill(_code(secret))
    dialog.get_by_role("button", name="Verify").click()

    expect(dialog).to_contain_text("Save your backup codes")
    codes = dialog.locator("#backup-codes code").all_inner_texts()
    assert len(codes) == 10
    assert all(re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}", code) for code in codes)
    dialog.get_by_label("I have saved these codes").check()
    dialog.get_by_role("button", name="Done").click()

    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#method-totp")).to_contain_text("Active")
    expect(page.locator("#backup-codes-left")).to_contain_text("10 of your backup")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    clock.offset += timedelta(seconds=30)
    page.get_by_label("Code").fill(_code(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()
    expect(page.get_by_text("Set up multi-factor")).to_have_count(0)


def test_signin_with_backup_code_in_browser(page, live_server, user_with_totp):
    page.goto("/signin")
    page.get_by_label("Email").fill(user_with_totp["email"])
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Use a backup code").click()
    page.get_by_label("Code").fill(user_with_totp["backup_codes"][3].upper())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_contain_text("You have 9 backup codes left")


def test_escape_closes_enrollment_dialog_and_returns_focus(page, live_server, actions):
    page.goto("/signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.goto("/account/security")

    enroll = page.get_by_role("button", name="Enroll Authenticator app")
    enroll.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(enroll).to_be_focused()
