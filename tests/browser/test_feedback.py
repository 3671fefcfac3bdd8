"""Feedback while a request runs, double clicks, and code fields that take a paste."""

import re

import pyotp
from playwright.sync_api import expect
from sms_support import TYPED, outbox

from mfasite import clock

ENROLL = "/account/security/authenticator"
VERIFY = "/account/security/authenticator/verify"
# Long enough for a second click to land while the first request still runs.
SLOW = 0.8
BUSY = re.compile(r"\bis-busy\b")


def test_double_click_on_enroll_opens_one_dialog(page, person, live_server, server_log):
    person.sign_up()
    page.goto("/account/security")
    server_log.delays[f"GET {ENROLL}"] = SLOW

    enroll = page.get_by_role("button", name="Enroll Authenticator app")
    enroll.dblclick()
    expect(enroll).to_be_disabled()
    expect(enroll).to_have_class(BUSY)

    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.locator("dialog")).to_have_count(1)
    assert server_log.count(f"GET {ENROLL}") == 1
    page.keyboard.press("Escape")
    expect(enroll).to_be_enabled()
    expect(enroll).to_be_focused()


def test_double_click_on_a_step_link_loads_it_once(
    page, person, live_server, server_log
):
    person.sign_up()
    page.goto("/account/security")
    page.get_by_role("button", name="Enroll Authenticator app").click()
    server_log.delays[f"GET {VERIFY}"] = SLOW

    # A link cannot be disabled: it is marked busy and its second click dropped.
    cont = page.get_by_role("dialog").get_by_role("link", name="Continue")
    cont.dblclick()
    expect(cont).to_have_attribute("aria-disabled", "true")
    expect(page.get_by_role("dialog").get_by_label("Code", exact=True)).to_be_focused()
    page.wait_for_timeout(SLOW * 1000)
    assert server_log.count(f"GET {VERIFY}") == 1


def test_double_click_on_verify_posts_once(page, person, live_server, server_log):
    person.sign_up()
    page.goto("/account/security")
    page.get_by_role("button", name="Enroll Authenticator app").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Can't scan it?").click()
    secret = dialog.locator("code.secret").inner_text()
    dialog.get_by_role("link", name="Continue").click()
    server_log.delays[f"POST {VERIFY}"] = SLOW

    dialog.get_by_label("Code", exact=True).fill(
        pyotp.TOTP(secret).at(clock.timestamp())
    )
    verify = dialog.get_by_role("button", name="Verify")
    verify.dblclick()
    expect(verify).to_be_disabled()
    page.keyboard.press("Enter")

    expect(dialog.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    page.wait_for_timeout(SLOW * 1000)
    assert server_log.count(f"POST {VERIFY}") == 1


def test_double_click_on_sms_continue_sends_one_text(
    page, person, live_server, app, server_log
):
    person.sign_up()
    page.goto("/account/security")
    page.get_by_role("button", name="Enroll SMS code").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Phone number").fill(TYPED)
    server_log.delays["POST /account/security/sms"] = SLOW

    continue_ = dialog.get_by_role("button", name="Continue")
    continue_.dblclick()
    expect(continue_).to_be_disabled()

    expect(dialog.get_by_label("Code", exact=True)).to_be_focused()
    page.wait_for_timeout(SLOW * 1000)
    assert server_log.count("POST /account/security/sms") == 1
    assert len(outbox(app)) == 1


def test_double_click_on_sign_in_posts_once(
    page, live_server, server_log, user_with_totp
):
    page.goto("/signin")
    page.get_by_label("Email").fill(user_with_totp["email"])
    page.get_by_label("Password").fill("correct horse battery")
    server_log.delays["POST /signin"] = SLOW

    # The page is gone before a test could look at it: it reports its button.
    reports = []
    page.on("console", lambda message: reports.append(message.text))
    page.evaluate(
        """() => document.addEventListener("submit", () => setTimeout(() => {
          const button = document.querySelector("main button[type=submit]");
          console.log(`${button.getAttribute("aria-disabled")} ${button.className}`);
        }, 50))"""
    )

    page.get_by_role("button", name="Sign in").dblclick()

    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    assert server_log.count("POST /signin") == 1
    # Each click that got through raised a submit event and found the form busy.
    assert reports
    assert set(reports) == {"true button button--primary button--block is-busy"}


def test_code_pasted_with_a_space_signs_in(page, context, live_server, user_with_totp):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/signin")
    page.get_by_label("Email").fill(user_with_totp["email"])
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()

    code = page.get_by_label("Code")
    expect(code).to_have_attribute("inputmode", "numeric")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    assert code.get_attribute("maxlength") is None
    # One field for the code; the other input is the "keep me signed in" box.
    assert page.locator("form input:not([type=hidden], [type=checkbox])").count() == 1

    typed = pyotp.TOTP(user_with_totp["secret"]).at(clock.timestamp())
    page.evaluate(
        "(text) => navigator.clipboard.writeText(text)", f"{typed[:3]} {typed[3:]}"
    )
    code.focus()
    page.keyboard.press("ControlOrMeta+V")
    expect(code).to_have_value(f"{typed[:3]} {typed[3:]}")
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are signed in")).to_be_visible()


def test_backup_code_field_offers_the_full_keyboard(page, live_server, user_with_totp):
    page.goto("/signin")
    page.get_by_label("Email").fill(user_with_totp["email"])
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Use a backup code").click()

    code = page.get_by_label("Code")
    expect(code).to_have_attribute("inputmode", "text")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(code).to_be_focused()


def test_security_key_button_is_busy_while_the_browser_asks(
    page, person, live_server, virtual_keys
):
    key = virtual_keys.add(presence=False)
    live_server.app.config["WEBAUTHN_TIMEOUT_MS"] = 3000
    person.sign_up()
    page.goto("/account/security")
    page.get_by_role("button", name="Enroll Security key").click()
    dialog = page.get_by_role("dialog")
    button = dialog.get_by_role("button", name="Use security key")
    status = dialog.locator("[data-security-key-status]")

    # A second click while the browser asks would start a second request,
    # which the browser refuses at once: the status would say so.
    button.dblclick()
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(button).to_have_class(BUSY)
    page.wait_for_timeout(1000)
    expect(status).to_have_text("")

    expect(status).to_contain_text("cancelled or timed out", timeout=20_000)
    expect(button).not_to_have_class(BUSY)
    assert virtual_keys.credentials(key) == []
