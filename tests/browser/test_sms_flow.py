"""Text message codes in a real browser, with codes read from the outbox page."""

import re

from playwright.sync_api import expect

EMAIL = "grace@example.com"
PASSWORD = "a long passphrase here"
MASKED = "(•••) •••-2671"


def _sign_up(page):
    page.goto("/signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()


def _sign_in(page):
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _code_from_outbox(context):
    """Open the outbox in another tab, as a person would check their phone."""
    outbox = context.new_page()
    outbox.goto("/dev/outbox")
    body = outbox.locator("#outbox .sms-body").first.inner_text()
    outbox.close()
    return re.search(r"verification code: (\d{6})\.", body).group(1)


def _enroll_sms(page, context):
    page.goto("/account/security")
    page.get_by_role("button", name="Enroll SMS code").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("at most 1 message per sign-in")
    expect(dialog).to_contain_text("Message and data rates may apply")
    expect(dialog).to_contain_text("Reply HELP for help, STOP to opt out")

    phone = dialog.get_by_label("Phone number")
    expect(phone).to_be_focused()
    phone.fill("+44 20 7946 0958")
    dialog.get_by_role("button", name="Continue").click()
    # The page fixture takes a refused form's 400 for what it is: not a script error.
    expect(dialog.get_by_role("alert")).to_contain_text("only country code +1")

    dialog.get_by_label("Phone number").fill("(415) 555-2671")
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog).to_contain_text(f"Enter the 6-digit code we sent to {MASKED}.")
    code_field = dialog.get_by_label("Code")
    expect(code_field).to_be_focused()
    code_field.fill(_code_from_outbox(context))
    dialog.get_by_role("button", name="Verify").click()

    expect(dialog).to_contain_text("Save your backup codes")
    codes = dialog.locator("#backup-codes code").all_inner_texts()
    dialog.get_by_label("I have saved these codes").check()
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#method-sms")).to_contain_text("Active")
    expect(page.locator("#method-sms")).to_contain_text(MASKED)
    return codes


def test_enroll_sms_sign_out_and_sign_in_with_texted_code(page, context, live_server):
    _sign_up(page)
    _enroll_sms(page, context)

    page.get_by_role("button", name="Sign out").click()
    _sign_in(page)

    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    expect(
        page.get_by_text(f"Enter the 6-digit code we sent to {MASKED}.")
    ).to_be_visible()
    page.get_by_label("Code").fill(_code_from_outbox(context))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()


def test_reply_stop_from_outbox_then_sign_in_with_backup_code(
    page, context, live_server
):
    _sign_up(page)
    codes = _enroll_sms(page, context)
    page.get_by_role("button", name="Sign out").click()

    page.goto("/dev/outbox")
    page.get_by_label("From number").fill("+14155552671")
    page.get_by_role("button", name="Reply STOP").click()
    expect(page.get_by_role("status")).to_contain_text(
        "The webhook answered 200: mfasite sign-in codes: you are unsubscribed"
    )

    page.goto("/signin")
    _sign_in(page)
    expect(page.get_by_role("alert")).to_contain_text("You have opted out of SMS.")
    expect(page.get_by_label("Code")).to_have_count(0)
    page.get_by_role("link", name="Use a backup code").click()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()

    bar = page.locator("#sms-opted-out-bar")
    expect(bar).to_contain_text("Your phone number has opted out of our texts.")
    bar.get_by_role("link", name="Set up another method").click()
    expect(page.locator("#method-sms")).to_contain_text("Opted out")
