"""Operator commands: `flask users create` and `flask mfa reset`."""

from argon2 import PasswordHasher
from support import PASSWORD, rows, totp_now

from mfasite import events
from mfasite.extensions import db
from mfasite.models import (
    PendingSignIn,
    RecoveryCode,
    SecurityEvent,
    TotpDevice,
    User,
    UserSession,
)


def _count(app, model):
    return len(rows(app, model))


def _events(app):
    with app.app_context():
        return db.session.execute(
            db.select(SecurityEvent.kind, SecurityEvent.detail)
        ).all()


def _create(runner, email, *passwords):
    return runner.invoke(
        args=["users", "create", email], input="".join(f"{p}\n" for p in passwords)
    )


# flask users create


def test_users_create_prompts_for_password(runner, app, client, actions):
    result = _create(runner, "  Grace@Example.COM ", PASSWORD, PASSWORD)

    assert result.exit_code == 0, result.output
    assert "Password: " in result.output
    assert "Repeat for confirmation: " in result.output
    assert PASSWORD not in result.output
    assert "Created grace@example.com." in result.output
    (user,) = rows(app, User)
    assert user.email == "grace@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, PASSWORD)
    assert (events.SIGNUP, "created from the command line") in _events(app)
    response = actions.signin(email="grace@example.com")
    assert response.headers["Location"] == "/"


def test_users_create_asks_again_when_confirmation_differs(runner, app):
    result = _create(runner, "grace@example.com", PASSWORD, "other", PASSWORD, PASSWORD)

    assert result.exit_code == 0, result.output
    assert "Error: The two entered values do not match." in result.output
    assert PasswordHasher().verify(rows(app, User)[0].password_hash, PASSWORD)


def test_users_create_refuses_short_and_long_passwords(runner, app):
    short = _create(runner, "grace@example.com", "p" * 7, "p" * 7)
    long = _create(runner, "grace@example.com", "p" * 129, "p" * 129)

    for result in (short, long):
        assert result.exit_code == 1
        assert "The password must be 8 to 128 characters." in result.output
    assert rows(app, User) == []


def test_users_create_refuses_taken_email(runner, app):
    _create(runner, "grace@example.com", PASSWORD, PASSWORD)
    before = rows(app, User)[0].password_hash

    result = _create(
        runner, "GRACE@example.com", "another password", "another password"
    )

    assert result.exit_code == 1
    assert "An account with email grace@example.com already exists." in result.output
    (user,) = rows(app, User)
    assert user.password_hash == before


def test_users_create_refuses_malformed_email(runner, app):
    result = _create(runner, "not-an-email", PASSWORD, PASSWORD)

    assert result.exit_code == 1
    assert "'not-an-email' is not a valid email address." in result.output
    assert rows(app, User) == []


def test_users_create_takes_no_password_on_command_line(runner, app):
    as_option = runner.invoke(
        args=["users", "create", "grace@example.com", "--password", PASSWORD]
    )
    as_argument = runner.invoke(args=["users", "create", "grace@example.com", PASSWORD])

    assert as_option.exit_code == 2
    assert "No such option '--password'" in as_option.output
    assert as_argument.exit_code == 2
    assert rows(app, User) == []


# flask mfa reset


def _reset(runner, *extra):
    return runner.invoke(args=["mfa", "reset", "ada@example.com", *extra])


def test_mfa_reset_removes_methods_and_codes(runner, app, actions, user_with_totp):
    result = _reset(runner, "--reason", "lost phone, identity checked")

    assert result.exit_code == 0, result.output
    assert "MFA reset for ada@example.com" in result.output
    assert _count(app, TotpDevice) == 0
    assert _count(app, RecoveryCode) == 0
    assert rows(app, User)[0].preferred_method is None
    assert (events.MFA_RESET, "lost phone, identity checked") in _events(app)


def test_mfa_reset_ends_sessions_and_pending_signins(
    runner, app, client, actions, user_with_totp
):
    actions.signin()
    actions.challenge(totp_now(user_with_totp["secret"]))
    other = app.test_client()
    other.post_form("/signin", {"email": "ada@example.com", "password": PASSWORD})
    assert _count(app, UserSession) == 1 and _count(app, PendingSignIn) == 1

    _reset(runner, "--reason", "lost phone")

    assert _count(app, UserSession) == 0
    assert _count(app, PendingSignIn) == 0
    assert client.get("/").headers["Location"].startswith("/signin")
    assert other.get("/signin/challenge").headers["Location"] == "/signin"


def test_mfa_reset_makes_next_signin_enroll(
    runner, app, client, actions, user_with_totp
):
    _reset(runner, "--reason", "lost phone")

    response = actions.signin()

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    blocked = client.get("/")
    assert blocked.headers["Location"] == "/account/security"
    assert "Multi-factor authentication is required." in client.get(
        "/account/security"
    ).get_data(True)
    # The old authenticator and backup codes are gone for good.
    actions.enroll_totp()
    assert client.get("/").status_code == 200


def test_mfa_reset_needs_a_reason(runner, app, user_with_totp):
    result = _reset(runner)

    assert result.exit_code == 2
    assert "Missing option '--reason'" in result.output
    assert _count(app, TotpDevice) == 1 and _count(app, RecoveryCode) == 10


def test_mfa_reset_of_unknown_email_changes_nothing(runner, app, user_with_totp):
    result = runner.invoke(
        args=["mfa", "reset", "nobody@example.com", "--reason", "typo"]
    )

    assert result.exit_code == 1
    assert "No account with email nobody@example.com." in result.output
    assert _count(app, TotpDevice) == 1
    assert events.MFA_RESET not in [kind for kind, _ in _events(app)]


def test_mfa_reset_finds_email_in_any_case(runner, app, user_with_totp):
    result = runner.invoke(
        args=["mfa", "reset", " ADA@Example.com", "--reason", "lost phone"]
    )

    assert result.exit_code == 0, result.output
    assert _count(app, TotpDevice) == 0
