"""Sign-in: Argon2id passwords, one failure message, and the pending second step."""

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from support import PASSWORD, rows, text, totp_now

from mfasite import clock, events, messages
from mfasite.models import PendingSignIn, SecurityEvent, User, UserSession


def _user_hash(app):
    (stored,) = rows(app, User.password_hash)
    return stored


@pytest.fixture
def hash_checks(monkeypatch):
    """Record the stored hash every Argon2 verification is run against."""
    checked = []
    verify = PasswordHasher.verify

    def spy(self, hash, password):
        checked.append(hash)
        return verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    return checked


# Accounts and passwords


def test_signin_page_has_labelled_fields(client):
    page = client.get("/signin").get_data(True)

    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page
    assert ">Sign in</button>" in page


def test_signin_without_mfa_signs_in_at_once(client, actions):
    actions.signup()
    actions.signout()

    response = actions.signin()

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/account/security").status_code == 200


def test_signin_with_other_case_and_spaces_finds_account(client, actions):
    actions.signup()
    actions.signout()

    response = actions.signin(email="  ADA@Example.com ")

    assert response.status_code == 303
    assert client.get("/account/security").status_code == 200


def test_signup_stores_argon2id_hash(actions, app):
    actions.signup()

    stored = _user_hash(app)

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


def test_signin_rehashes_when_parameters_change(client, actions, app):
    actions.signup()
    actions.signout()
    before = _user_hash(app)
    assert "t=1," in before

    app.config["ARGON2_TIME_COST"] = 2
    response = actions.signin()

    assert response.status_code == 303
    after = _user_hash(app)
    assert after != before
    assert after.startswith("$argon2id$") and "t=2," in after
    assert PasswordHasher().verify(after, PASSWORD)


def test_signin_keeps_hash_when_parameters_are_unchanged(actions, app):
    actions.signup()
    actions.signout()
    before = _user_hash(app)

    actions.signin()

    assert _user_hash(app) == before


def test_signin_with_wrong_password_does_not_rehash(actions, app):
    actions.signup()
    actions.signout()
    before = _user_hash(app)

    app.config["ARGON2_TIME_COST"] = 2
    actions.signin(password="wrong password")

    assert _user_hash(app) == before


# Failed sign-ins


def test_signin_failures_look_the_same_for_unknown_email_and_wrong_password(
    client, actions, app, hash_checks
):
    actions.signup()
    actions.signout()
    hash_checks.clear()

    unknown = actions.signin(email="nobody@example.com", password=PASSWORD)
    wrong = actions.signin(password="not the password")

    assert unknown.status_code == wrong.status_code == 401
    assert messages.INVALID_CREDENTIALS in text(unknown)
    assert messages.INVALID_CREDENTIALS in text(wrong)
    # The same page apart from the echoed email and the CSRF token.
    assert text(unknown).count("Invalid email or password") == 1
    assert text(wrong).count("Invalid email or password") == 1
    # One Argon2 verification each: a dummy hash for the unknown email.
    assert len(hash_checks) == 2
    dummy, real = hash_checks
    assert real == _user_hash(app)
    assert dummy.startswith("$argon2id$") and dummy != real
    assert "_user_id" not in client.session_data()
    assert rows(app, PendingSignIn) == [] and rows(app, UserSession) == []


def test_signin_with_wrong_password_records_event(actions, app):
    actions.signup()
    actions.signout()

    actions.signin(password="not the password")

    kinds = rows(app, SecurityEvent.kind)
    assert kinds.count(events.SIGNIN_FAILED_PASSWORD) == 1


@pytest.mark.parametrize(
    "data", [{"email": "", "password": PASSWORD}, {"email": "ada@example.com"}]
)
def test_signin_with_missing_field_is_refused(client, actions, app, data):
    actions.signup()
    actions.signout()

    response = client.post_form("/signin", data)

    assert response.status_code == 400
    assert rows(app, UserSession) == []


def test_signin_when_signed_in_goes_home(client, actions):
    actions.signup()

    response = client.get("/signin")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# The pending sign-in


def test_signin_with_mfa_stores_pending_signin_not_session(
    client, app, actions, user_with_totp
):
    response = actions.signin()

    assert response.status_code == 303
    assert response.headers["Location"] == "/signin/challenge"
    (row,) = rows(app, PendingSignIn)
    assert row.user_id == actions.user().id
    assert row.failed_attempts == 0
    lifetime = row.expires_at - row.created_at
    assert abs(lifetime - timedelta(minutes=10)) < timedelta(seconds=1)
    assert rows(app, UserSession) == []
    # The cookie holds the row's opaque id and nothing about the user.
    assert client.session_data() == {"pending_signin": row.id}


def test_signin_pending_cookie_holds_only_its_id_on_challenge_page(
    client, app, actions, user_with_totp
):
    actions.signin()

    client.get("/signin/challenge")

    (row,) = rows(app, PendingSignIn)
    data = client.session_data()
    assert data["pending_signin"] == row.id
    assert set(data) <= {"pending_signin", "csrf_token", "_fresh"}
    assert "ada@example.com" not in repr(data)


def test_challenge_page_has_code_field_and_backup_link(client, actions, user_with_totp):
    actions.signin()

    page = client.get("/signin/challenge").get_data(True)

    assert '<label for="code">Code</label>' in page
    assert ">Verify</button>" in page
    assert '<a href="/signin/challenge?method=backup">Use a backup code</a>' in page


def test_challenge_with_right_code_signs_in(client, app, actions, user_with_totp):
    actions.signin()

    response = actions.challenge(totp_now(user_with_totp["secret"]))

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert rows(app, PendingSignIn) == []
    assert len(rows(app, UserSession)) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/account",
        "/account/security",
        "/account/security/authenticator",
        "/account/security/authenticator/verify",
        "/account/security/backup-codes",
        "/signin",
        "/signup",
    ],
)
def test_pending_signin_sends_other_pages_to_challenge(
    client, app, actions, user_with_totp, path
):
    actions.signin()

    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"] == "/signin/challenge"
    assert len(rows(app, PendingSignIn)) == 1


@pytest.mark.parametrize(
    "path", ["/account/security", "/account/security/authenticator", "/"]
)
def test_pending_signin_sends_htmx_requests_to_challenge(
    client, actions, user_with_totp, path
):
    actions.signin()

    response = client.get(
        path, headers={"HX-Request": "true", "HX-Target": "modal-root"}
    )

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/signin/challenge"
    assert response.get_data() == b""


def test_pending_signin_cannot_post_to_other_forms(
    client, app, actions, user_with_totp
):
    actions.signin()
    token = client.csrf_token("/signin/challenge")

    response = client.post(
        "/account/security/authenticator/verify",
        data={"csrf_token": token, "code": totp_now(user_with_totp["secret"])},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/signin/challenge"
    assert rows(app, UserSession) == []


def test_pending_signin_may_load_static_files(client, actions, user_with_totp):
    actions.signin()

    response = client.get("/static/css/site.css")

    assert response.status_code == 200


def test_pending_signin_expires_after_ten_minutes(client, app, actions, user_with_totp):
    actions.signin()
    token = client.csrf_token("/signin/challenge")
    clock.offset += timedelta(minutes=10, seconds=1)

    response = client.post(
        "/signin/challenge",
        data={"csrf_token": token, "code": totp_now(user_with_totp["secret"])},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"
    assert messages.SIGNIN_EXPIRED in text(client.get("/signin"))
    assert rows(app, PendingSignIn) == [] and rows(app, UserSession) == []
    assert "pending_signin" not in client.session_data()
    assert client.get("/").status_code == 302


def test_pending_signin_still_works_just_before_ten_minutes(
    client, actions, user_with_totp
):
    actions.signin()
    clock.offset += timedelta(minutes=9, seconds=30)

    response = actions.challenge(totp_now(user_with_totp["secret"]))

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_challenge_page_after_ten_minutes_asks_to_sign_in_again(
    client, app, actions, user_with_totp
):
    actions.signin()
    clock.offset += timedelta(minutes=11)

    response = client.get("/signin/challenge", follow_redirects=True)

    assert response.request.path == "/signin"
    assert messages.SIGNIN_EXPIRED in text(response)
    assert rows(app, PendingSignIn) == []


def test_signin_returns_to_page_asked_for(client, actions, user_with_totp):
    asked = client.get("/account")
    assert asked.headers["Location"] == "/signin?next=/account"

    client.post_form(
        "/signin?next=%2Faccount",
        {"email": "ada@example.com", "password": PASSWORD},
        token_from="/signin?next=%2Faccount",
    )
    response = actions.challenge(totp_now(user_with_totp["secret"]))

    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        # Browsers drop tabs and line breaks: "/<tab>/host" becomes "//host".
        "/%09/evil.example/",
        "/%09%09/evil.example/",
        "/%0a/evil.example/",
        "/%0d/evil.example/",
        "/%5C/evil.example/",
        "/ /evil.example/",
    ],
)
def test_signin_ignores_next_to_other_site(client, actions, target):
    actions.signup()
    actions.signout()

    response = client.post_form(
        f"/signin?next={target}",
        {"email": "ada@example.com", "password": PASSWORD},
        token_from=f"/signin?next={target}",
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_challenge_with_wrong_code_counts_attempt(client, app, actions, user_with_totp):
    actions.signin()

    response = actions.challenge("000000")

    assert response.status_code == 400
    assert messages.INVALID_CODE in text(response)
    (row,) = rows(app, PendingSignIn)
    assert row.failed_attempts == 1
    assert rows(app, UserSession) == []


def test_challenge_five_wrong_codes_end_pending_signin(
    client, app, actions, user_with_totp
):
    actions.signin()
    for attempt in range(4):
        response = actions.challenge("000000")
        assert response.status_code == 400
        assert rows(app, PendingSignIn)[0].failed_attempts == attempt + 1

    response = actions.challenge("000000")

    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"
    assert messages.TOO_MANY_ATTEMPTS in text(client.get("/signin"))
    assert rows(app, PendingSignIn) == []
    # Even the right code no longer helps: the user starts again.
    response = client.get("/signin/challenge")
    assert response.headers["Location"] == "/signin"
    assert rows(app, UserSession) == []
    kinds = rows(app, SecurityEvent.kind)
    assert kinds.count(events.SECOND_FACTOR_FAILED) == 5
    assert kinds.count(events.SIGNIN_ABANDONED) == 1


def test_challenge_after_five_wrong_codes_needs_password_again(
    client, actions, user_with_totp
):
    actions.signin()
    for _ in range(5):
        actions.challenge("000000")

    actions.signin()
    response = actions.challenge(totp_now(user_with_totp["secret"]))

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_challenge_without_pending_signin_goes_to_signin(client):
    response = client.get("/signin/challenge")

    assert response.status_code == 302
    assert response.headers["Location"] == "/signin"


def test_challenge_with_forged_pending_id_goes_to_signin(
    client, app, actions, user_with_totp
):
    with client.session_transaction() as session:
        session["pending_signin"] = "made-up-id"

    response = client.get("/signin/challenge")

    assert response.status_code == 302
    assert response.headers["Location"] == "/signin"
    assert "pending_signin" not in client.session_data()


def test_cancel_signin_deletes_pending_row(client, app, actions, user_with_totp):
    actions.signin()

    response = client.post_form("/signin/cancel", token_from="/signin/challenge")

    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"
    assert rows(app, PendingSignIn) == []
    assert messages.SIGNIN_CANCELLED in text(client.get("/signin"))
