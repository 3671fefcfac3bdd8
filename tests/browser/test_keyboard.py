"""Keyboard only: Tab order, Enter submits, Escape closes, focus in and out of
dialogs, errors announced, every field labelled."""

from datetime import timedelta

import pyotp
from playwright.sync_api import expect
from sms_support import TYPED, last_code

from mfasite import clock

EMAIL = "grace@example.com"
PASSWORD = "a long passphrase here"

# The name a person hears for the focused element: its label, else its text.
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const label = e.labels && e.labels.length ? e.labels[0].textContent : null;
  const name = label || e.getAttribute("aria-label") || e.textContent;
  return name.trim().replace(/\\s+/g, " ");
}"""


def focused(page):
    return page.evaluate(_FOCUSED)


def tab_through(page, count, key="Tab"):
    """Press Tab `count` times and return the name of each element reached."""
    names = []
    for _ in range(count):
        page.keyboard.press(key)
        names.append(focused(page))
    return names


def from_top(page):
    """Start at the first thing Tab reaches on a page: the skip link."""
    page.locator(".skip-link").focus()


def type_and_enter(page, text):
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def sign_up_by_keyboard(page):
    page.goto("/signup")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    type_and_enter(page, PASSWORD)
    expect(page.get_by_text(f"You are signed in as {EMAIL}")).to_be_visible()


def test_signin_page_tab_order_and_enter_submits(page, live_server, user_with_totp):
    page.goto("/signin")
    from_top(page)

    assert tab_through(page, 7) == [
        "mfasite",
        "Sign in",
        "Sign up",
        "Email",
        "Password",
        "Sign in",
        "Create an account",
    ]

    page.get_by_label("Email").focus()
    page.keyboard.type(user_with_totp["email"])
    page.keyboard.press("Tab")
    type_and_enter(page, "correct horse battery")
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    expect(page.get_by_label("Code")).to_be_focused()

    type_and_enter(page, pyotp.TOTP(user_with_totp["secret"]).at(clock.timestamp()))
    expect(
        page.get_by_text(f"You are signed in as {user_with_totp['email']}")
    ).to_be_visible()


def test_signup_errors_are_announced_next_to_their_fields(page, live_server):
    page.goto("/signup")
    page.keyboard.type("not an email")
    page.keyboard.press("Tab")
    type_and_enter(page, "short")

    email = page.get_by_label("Email")
    password = page.get_by_label("Password", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description("Enter a valid email address.")
    expect(password).to_have_accessible_description(
        "Use at least 8 characters. 8 to 128 characters. A long passphrase is best."
    )
    alerts = page.get_by_role("alert")
    expect(alerts).to_have_text(
        [
            "Enter a valid email address.",
            "Use at least 8 characters.",
            "This field is required.",
        ]
    )


def test_every_visible_field_has_a_label(page, live_server, user_with_totp):
    unlabelled = """() => Array.from(document.querySelectorAll("input, select"))
      .filter((e) => e.type !== "hidden" && !(e.labels && e.labels.length))
      .map((e) => e.outerHTML)"""
    page.goto("/signup")
    assert page.evaluate(unlabelled) == []
    page.goto("/signin")
    assert page.evaluate(unlabelled) == []
    page.get_by_label("Email").fill(user_with_totp["email"])
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    assert page.evaluate(unlabelled) == []
    page.get_by_role("link", name="Use a backup code").click()
    assert page.evaluate(unlabelled) == []


def test_enrollment_dialog_by_keyboard_alone(page, live_server):
    sign_up_by_keyboard(page)
    page.goto("/account/security")
    from_top(page)

    assert tab_through(page, 8) == [
        "mfasite",
        "Account settings",
        "Sign out",
        "Set it up now",
        "Your profile",
        "Change password",
        "Enroll SMS code",
        "Enroll Authenticator app",
    ]

    # Enter opens the dialog and moves focus into it, onto its title.
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    title = dialog.get_by_role("heading", name="Set up an authenticator app")
    expect(title).to_be_focused()
    assert tab_through(page, 4) == [
        "Close",
        "Can't scan it? Enter this key instead",
        "Cancel",
        "Continue",
    ]

    # The rest of the page is out of reach while the dialog is open: past its
    # last control Tab leaves for the browser's own controls, then comes back.
    outside = """() => document.activeElement !== document.body
      && document.activeElement.closest("dialog") === null"""
    for _ in range(6):
        page.keyboard.press("Tab")
        assert not page.evaluate(outside)

    dialog.get_by_text("Can't scan it?").focus()
    page.keyboard.press("Enter")
    secret = dialog.locator("code.secret").inner_text()
    dialog.get_by_role("link", name="Continue").focus()
    page.keyboard.press("Enter")

    code = dialog.get_by_label("Code", exact=True)
    expect(code).to_be_focused()
    type_and_enter(page, "000000")
    expect(dialog.get_by_role("alert")).to_have_text(
        "That code didn't work. Check it and try again."
    )
    expect(code).to_be_focused()
    expect(code).to_have_accessible_description(
        "That code didn't work. Check it and try again."
    )

    page.keyboard.press("Control+A")
    type_and_enter(page, pyotp.TOTP(secret).at(clock.timestamp()))
    expect(dialog.get_by_role("heading", name="Save your backup codes")).to_be_focused()
    assert tab_through(page, 5) == [
        "Close",
        "Copy",
        "Download (.txt)",
        "I have saved these codes",
        "Done",
    ]
    dialog.get_by_label("I have saved these codes").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("backup codes are ready")
    expect(page.locator("#method-totp")).to_contain_text("Active")


def test_escape_closes_dialog_and_focus_returns_to_its_button(
    page, live_server, user_with_totp
):
    page.goto("/signin")
    page.keyboard.type(user_with_totp["email"])
    page.keyboard.press("Tab")
    type_and_enter(page, "correct horse battery")
    expect(page.get_by_label("Code")).to_be_focused()
    type_and_enter(page, pyotp.TOTP(user_with_totp["secret"]).at(clock.timestamp()))
    expect(page.get_by_text("You are signed in")).to_be_visible()
    page.goto("/account/security")

    manage = page.get_by_role("button", name="Manage Authenticator app")
    manage.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(manage).to_be_focused()

    # Two steps in, past re-authentication, Escape still leads back to Manage.
    clock.offset += timedelta(minutes=16)
    page.keyboard.press("Enter")
    page.get_by_role("dialog").get_by_role("button", name="Set up again").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog").get_by_label("Password")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(manage).to_be_focused()

    # The Cancel button does the same as Escape.
    page.keyboard.press("Enter")
    page.get_by_role("dialog").get_by_role("button", name="Set up again").click()
    expect(page.get_by_role("dialog").get_by_label("Password")).to_be_focused()
    page.get_by_role("dialog").get_by_role("link", name="Cancel").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(manage).to_be_focused()


def test_sms_enrollment_by_keyboard_alone(page, live_server, app):
    sign_up_by_keyboard(page)
    page.goto("/account/security")
    enroll = page.get_by_role("button", name="Enroll SMS code")
    enroll.focus()
    page.keyboard.press("Enter")

    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Phone number")).to_be_focused()
    dialog.get_by_role("heading", name="Set up text message codes").focus()
    assert tab_through(page, 7) == [
        "Close",
        "Country",
        "Phone number",
        "authenticator app",
        "security key",
        "Cancel",
        "Continue",
    ]

    dialog.get_by_label("Phone number").focus()
    type_and_enter(page, TYPED)
    code = dialog.get_by_label("Code", exact=True)
    expect(code).to_be_focused()
    type_and_enter(page, last_code(app))
    expect(dialog.get_by_role("heading", name="Save your backup codes")).to_be_focused()

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(enroll).to_be_focused()


def test_security_key_enrollment_by_keyboard_alone(page, live_server, virtual_keys):
    virtual_keys.add()
    sign_up_by_keyboard(page)
    page.goto("/account/security")
    enroll = page.get_by_role("button", name="Enroll Security key")
    enroll.focus()
    page.keyboard.press("Enter")

    dialog = page.get_by_role("dialog")
    nickname = dialog.get_by_label("Nickname")
    expect(nickname).to_be_focused()
    assert tab_through(page, 2) == ["Use security key", "Cancel"]

    # Enter in the nickname field starts the key, as the button does.
    nickname.focus()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("heading", name="Save your backup codes")).to_be_focused()

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(enroll).to_be_focused()
