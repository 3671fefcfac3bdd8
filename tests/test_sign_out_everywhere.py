"""Ending sessions: on request, and whenever a method or the password changes."""

from mfasite import events, messages
from mfasite.extensions import db
from mfasite.models import (
    PendingSignIn,
    SecurityEvent,
    User,
    UserSession,
    WebAuthnCredential,
)


def _count(app, model):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_end_all_sessions_signs_out_this_browser_and_the_others(
    two_browsers, new_browser, app
):
    this, other = two_browsers
    stranger = new_browser()
    stranger.signin()

    response = this.client.post_form(
        "/account/security/sessions/end-all", token_from="/account/security"
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"
    assert messages.SIGNED_OUT_EVERYWHERE in this.client.get("/signin").get_data(True)
    assert this.client.get("/").status_code == 302
    assert other.client.get("/").status_code == 302
    assert stranger.client.get("/signin/challenge").headers["Location"] == "/signin"
    assert _count(app, UserSession) == 0
    assert _count(app, PendingSignIn) == 0
    with app.app_context():
        kinds = db.session.scalars(db.select(SecurityEvent.kind)).all()
    assert events.SIGNOUT_EVERYWHERE in kinds


def test_end_all_sessions_without_csrf_token_changes_nothing(two_browsers, app):
    this, other = two_browsers

    response = this.client.post("/account/security/sessions/end-all")

    assert response.status_code == 400
    assert this.client.get("/").status_code == 200
    assert other.client.get("/").status_code == 200
    assert _count(app, UserSession) == 2


def test_security_page_offers_ending_all_sessions(two_browsers):
    this, _ = two_browsers

    page = this.client.get("/account/security").get_data(as_text=True)

    assert 'action="/account/security/sessions/end-all"' in page
    assert "End all sessions" in page
    assert "Sign out everywhere else" in page


def test_enrolling_a_method_ends_other_sessions(actions, new_browser, app):
    actions.signup()
    other = new_browser()
    other.signin()
    assert other.client.get("/account/security").status_code == 200

    actions.enroll_totp()

    assert other.client.get("/account/security").status_code == 302
    assert actions.client.get("/account/security").status_code == 200
    assert _count(app, UserSession) == 1


def test_removing_a_method_ends_other_sessions(app, two_browsers):
    this, other = two_browsers
    app.config["MFA_ALLOW_MULTIPLE"] = True
    with app.app_context():
        user = db.session.scalar(db.select(User))
        db.session.add(
            WebAuthnCredential(
                user_id=user.id,
                credential_id=b"key-1",
                public_key=b"public",
                nickname="Desk key",
            )
        )
        db.session.commit()

    response = this.client.post_form(
        "/account/security/methods/totp/remove", token_from="/account/security"
    )

    assert response.status_code == 303
    assert other.client.get("/").status_code == 302
    assert this.client.get("/").status_code == 200
    assert _count(app, UserSession) == 1
