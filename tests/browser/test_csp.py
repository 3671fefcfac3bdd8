"""Every page and dialog under the strict Content-Security-Policy, in chromium."""

import re
from datetime import timedelta

import pyotp
from playwright.sync_api import expect

from mfasite import clock

EMAIL = "csp@example.com"
PASSWORD = "a long passphrase here"

# Recorded by the browser itself, before any page script runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def _violations(page):
    return page.evaluate("window.__violations")


def _assert_policy(response):
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def _expected_status_errors(console_errors, *statuses):
    """Drop chromium's "status of 4xx" notes for answers the test asked for."""
    noted = [
        message
        for message in console_errors
        if any(f"status of {status}" in message for status in statuses)
    ]
    for message in noted:
        console_errors.remove(message)
    return noted


def test_every_page_and_dialog_runs_without_a_csp_violation(
    page, live_server, console_errors
):
    page.add_init_script(RECORD_VIOLATIONS)

    _assert_policy(page.goto("/signup"))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()

    for path in ("/account", "/account/security"):
        _assert_policy(page.goto(path))

    page.get_by_role("button", name="Enroll Authenticator app").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("svg")).to_be_visible()
    dialog.get_by_text("Can't scan it?").click()
    secret = dialog.locator("code.secret").inner_text()
    dialog.get_by_role("link", name="Continue").click()
    dialog.get_by_label("Code", exact=True).fill("000000")
    dialog.get_by_role("button", name="Verify").click()
    expect(dialog.get_by_role("alert")).to_contain_text("didn't work")
    dialog.get_by_label("Code", exact=True).fill(
        pyotp.TOTP(secret).at(clock.timestamp())
    )
    dialog.get_by_role("button", name="Verify").click()
    expect(dialog).to_contain_text("Save your backup codes")
    codes = dialog.locator("#backup-codes code").all_inner_texts()
    dialog.get_by_label("I have saved these codes").check()
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_role("button", name="Change password").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Current password").fill("not my password")
    dialog.get_by_label("Code", exact=True).fill("000000")
    dialog.get_by_label("New password", exact=True).fill("another long passphrase")
    dialog.get_by_label("Confirm new password").fill("another long passphrase")
    dialog.get_by_role("button", name="Change password").click()
    expect(dialog.get_by_role("alert")).to_contain_text("didn't work")
    dialog.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Create new backup codes").click()
    expect(page.get_by_role("dialog")).to_contain_text("old codes stop working")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Keep me signed in on this device")).to_be_visible()
    page.get_by_role("link", name="Use a backup code").click()
    page.get_by_label("Code", exact=True).fill(codes[0])
    page.get_by_label("Keep me signed in on this device").check()
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()

    assert page.goto("/no-such-page").status == 404
    _expected_status_errors(console_errors, 400, 404)
    assert _violations(page) == []


def test_rate_limited_page_and_dialog_run_without_a_csp_violation(
    page, live_server, console_errors, user_with_totp
):
    page.add_init_script(RECORD_VIOLATIONS)
    live_server.app.config["SIGNIN_IP_LIMIT"] = "1 per minute"
    page.goto("/signin")
    for _ in range(2):
        page.get_by_label("Email").fill(user_with_totp["email"])
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Please wait a minute")
    assert _violations(page) == []
    _expected_status_errors(console_errors, 401, 429)


def test_csp_blocks_inline_script_and_style(page, live_server, console_errors):
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto("/signin")

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__inline_ran = true";
          document.body.append(script);
          document.querySelector("h1").setAttribute("style", "color: rgb(255, 0, 0)");
        }"""
    )

    assert page.evaluate("window.__inline_ran") is None
    assert page.locator("h1").evaluate("h => getComputedStyle(h).color") != (
        "rgb(255, 0, 0)"
    )
    blocked = _violations(page)
    assert any(v.startswith("script-src") for v in blocked)
    assert any(v.startswith("style-src") for v in blocked)
    # The browser reported them, as the page fixture's console check relies on.
    refused = [m for m in console_errors if re.search("Content Security Policy", m)]
    assert len(refused) >= 2
    console_errors.clear()


def test_remembered_signin_survives_closing_the_browser(
    browser, live_server, user_with_totp
):
    first = browser.new_context(base_url=live_server.url)
    page = first.new_page()
    page.goto("/signin")
    page.get_by_label("Email").fill(user_with_totp["email"])
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code", exact=True).fill(
        pyotp.TOTP(user_with_totp["secret"]).at(clock.timestamp())
    )
    page.get_by_label("Keep me signed in on this device").check()
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("You are signed in as")).to_be_visible()
    kept = [c for c in first.cookies() if c["expires"] > 0]
    first.close()

    clock.offset += timedelta(hours=2)
    second = browser.new_context(base_url=live_server.url)
    second.add_cookies(kept)
    page = second.new_page()
    page.goto("/")

    expect(page.get_by_text("You are signed in as")).to_be_visible()
    second.close()
