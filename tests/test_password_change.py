"""Changing the password on the Security page."""

from markupsafe import escape
from support import PASSWORD, totp_now

from mfasite import events, messages
from mfasite.extensions import db
from mfasite.models import SecurityEvent, User, UserSession

NEW_PASSWORD = "a brand new passphrase"
PATH = "/account/security/password"


def _change(browser, code, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return browser.client.post_form(
        PATH,
        {
            "current_password": current,
            "code": code,
            "new_password": new,
            "confirm": new if confirm is None else confirm,
        },
        token_from="/account/security",
        htmx=True,
    )


def _password_hash(app):
    with app.app_context():
        return db.session.scalar(db.select(User.password_hash))


def _session_count(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(UserSession.id)))


def test_change_password_dialog_asks_for_password_and_code(two_browsers):
    this, _ = two_browsers

    response = this.client.get(PATH, headers={"HX-Request": "true"})

    page = response.get_data(as_text=True)
    for label in ("Current password", "Code", "New password", "Confirm new password"):
        assert f">{label}</label>" in page
    assert 'hx-get="/account/security/password"' in this.client.get(
        "/account/security"
    ).get_data(as_text=True)


def test_change_password_with_code_ends_other_sessions(
    two_browsers, user_with_totp, new_browser, app
):
    this, other = two_browsers

    response = _change(this, totp_now(user_with_totp["secret"]))

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/account/security"
    assert messages.PASSWORD_CHANGED in this.client.get("/account/security").get_data(
        True
    )
    assert other.client.get("/").status_code == 302
    assert _session_count(app) == 1
    with app.app_context():
        kinds = db.session.scalars(db.select(SecurityEvent.kind)).all()
    assert events.PASSWORD_CHANGED in kinds

    fresh = new_browser()
    assert fresh.signin(password=PASSWORD).status_code == 401
    assert fresh.signin(password=NEW_PASSWORD).status_code == 303


def test_change_password_with_backup_code(two_browsers, user_with_totp, app):
    this, _ = two_browsers
    before = _password_hash(app)

    response = _change(this, user_with_totp["backup_codes"][0])

    assert response.status_code == 204
    assert _password_hash(app) != before


def test_change_password_wrong_current_password_refused(
    two_browsers, user_with_totp, app
):
    this, other = two_browsers
    before = _password_hash(app)

    response = _change(this, totp_now(user_with_totp["secret"]), current="wrong")

    assert response.status_code == 400
    assert escape(messages.REAUTH_FAILED) in response.get_data(as_text=True)
    assert _password_hash(app) == before
    assert other.client.get("/").status_code == 200
    assert _session_count(app) == 2


def test_change_password_wrong_code_refused(two_browsers, app):
    this, other = two_browsers
    before = _password_hash(app)

    response = _change(this, "000000")

    assert response.status_code == 400
    assert escape(messages.REAUTH_FAILED) in response.get_data(as_text=True)
    assert _password_hash(app) == before
    assert other.client.get("/").status_code == 200


def test_change_password_missing_code_refused(two_browsers, app):
    this, _ = two_browsers
    before = _password_hash(app)

    response = _change(this, "")

    assert response.status_code == 400
    assert _password_hash(app) == before


def test_change_password_too_short_refused(two_browsers, user_with_totp, app):
    this, _ = two_browsers
    before = _password_hash(app)

    response = _change(this, totp_now(user_with_totp["secret"]), new="short")

    assert response.status_code == 400
    assert "Use at least 8 characters." in response.get_data(as_text=True)
    assert _password_hash(app) == before


def test_change_password_confirmation_mismatch_refused(
    two_browsers, user_with_totp, app
):
    this, _ = two_browsers
    before = _password_hash(app)

    response = _change(
        this, totp_now(user_with_totp["secret"]), confirm="something else entirely"
    )

    assert response.status_code == 400
    assert messages.PASSWORDS_DIFFER in response.get_data(as_text=True)
    assert _password_hash(app) == before


def test_change_password_to_the_same_password_refused(
    two_browsers, user_with_totp, app
):
    this, other = two_browsers
    before = _password_hash(app)

    response = _change(this, totp_now(user_with_totp["secret"]), new=PASSWORD)

    assert response.status_code == 400
    assert messages.PASSWORD_UNCHANGED in response.get_data(as_text=True)
    assert _password_hash(app) == before
    assert other.client.get("/").status_code == 200


def test_change_password_without_mfa_needs_no_code(actions, new_browser, app):
    actions.signup()
    before = _password_hash(app)

    response = _change(actions, "")

    assert response.status_code == 204
    assert _password_hash(app) != before


def test_change_password_wrong_passwords_limited_per_account(
    app, two_browsers, user_with_totp
):
    app.config["PASSWORD_FAILURE_LIMIT"] = "2 per hour"
    this, _ = two_browsers
    before = _password_hash(app)
    for _ in range(2):
        assert _change(this, "000000", current="wrong").status_code == 400

    response = _change(this, totp_now(user_with_totp["secret"]))

    assert response.status_code == 429
    assert response.get_data(as_text=True).startswith('<div class="modal-step"')
    assert _password_hash(app) == before
