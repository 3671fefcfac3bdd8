"""Server-side sessions: rotated at sign-in, really ended at sign-out and reset."""

from datetime import timedelta

from support import PASSWORD, rows, text, totp_now

from mfasite import clock, events, messages
from mfasite.models import SecurityEvent, UserSession


def _copy_of(app, client):
    """A second browser that holds a copy of this one's session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.session_cookie())
    return other


def _sign_in_with_totp(actions, secret):
    actions.signin()
    return actions.challenge(totp_now(secret))


def test_signin_rotates_session(client, app, actions, user_with_totp):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    actions.signin()
    client.get("/signin/challenge")
    before = client.session_data()

    actions.challenge(totp_now(user_with_totp["secret"]))
    client.get("/account/security")
    after = client.session_data()

    assert "planted" not in before
    assert "pending_signin" in before and "pending_signin" not in after
    assert before["csrf_token"] != after["csrf_token"]
    # Flask-Login's id is the server-side session's, not the user's.
    assert after["_user_id"] == rows(app, UserSession.id)[0]
    assert after["_user_id"] != str(actions.user().id)


def test_signin_without_mfa_rotates_session(client, app, actions):
    actions.signup()
    actions.signout()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    client.get("/signin")
    before = client.session_data()

    actions.signin()
    client.get("/account/security")
    after = client.session_data()

    assert "planted" not in after
    assert before["csrf_token"] != after["csrf_token"]
    assert after["_user_id"] == rows(app, UserSession.id)[0]


def test_pre_signin_cookie_gives_no_access_after_signin(
    client, app, actions, user_with_totp
):
    actions.signin()
    client.get("/signin/challenge")
    pending_cookie = client.session_cookie()
    actions.challenge(totp_now(user_with_totp["secret"]))

    other = app.test_client()
    other.set_cookie("session", pending_cookie)
    response = other.get("/", follow_redirects=True)

    assert response.request.path == "/signin"


def test_each_signin_gets_its_own_session_row(client, app, actions):
    actions.signup()
    first = rows(app, UserSession.id)

    second_browser = app.test_client()
    second_browser.post_form(
        "/signin", {"email": "ada@example.com", "password": PASSWORD}
    )

    assert len(rows(app, UserSession.id)) == 2
    assert first[0] in rows(app, UserSession.id)


def test_signout_ends_server_session(client, app, actions):
    actions.signup()
    copy = _copy_of(app, client)
    assert copy.get("/").status_code == 200

    response = actions.signout()

    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"
    assert messages.SIGNED_OUT in text(client.get("/signin"))
    assert rows(app, UserSession.id) == []
    # The copied cookie still has the old session id, which no longer exists.
    response = copy.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin")
    assert client.get("/").status_code == 302


def test_signout_records_event(client, app, actions):
    actions.signup()

    actions.signout()

    assert events.SIGNOUT in rows(app, SecurityEvent.kind)


def test_signout_ends_only_this_browser(client, app, actions):
    actions.signup()
    actions.signout()
    actions.signin()
    other = _copy_of(app, client)
    actions.signout()
    actions.signin()

    assert other.get("/account/security").status_code == 302
    assert client.get("/account/security").status_code == 200
    assert len(rows(app, UserSession.id)) == 1


def test_signout_during_pending_signin_ends_it(client, app, actions, user_with_totp):
    actions.signin()

    response = client.post_form("/signout", token_from="/signin/challenge")

    assert response.status_code == 303
    assert client.get("/signin").status_code == 200
    assert "pending_signin" not in client.session_data()


def test_mfa_reset_ends_copied_session(client, app, actions, runner, user_with_totp):
    _sign_in_with_totp(actions, user_with_totp["secret"])
    copy = _copy_of(app, client)
    assert copy.get("/").status_code == 200

    result = runner.invoke(
        args=["mfa", "reset", "ada@example.com", "--reason", "lost phone"]
    )

    assert result.exit_code == 0, result.output
    assert rows(app, UserSession.id) == []
    assert copy.get("/").headers["Location"].startswith("/signin")
    assert client.get("/").headers["Location"].startswith("/signin")


def test_session_ends_after_idle_timeout(client, app, actions):
    actions.signup()
    clock.offset += timedelta(minutes=31)

    response = client.get("/account/security")

    assert response.status_code == 302
    assert rows(app, UserSession.id) == []


def test_session_stays_while_active(client, app, actions):
    actions.signup()
    for _ in range(3):
        clock.offset += timedelta(minutes=20)
        assert client.get("/account/security").status_code == 200


def test_end_other_sessions_keeps_this_one(client, app, actions, user_with_totp):
    _sign_in_with_totp(actions, user_with_totp["secret"])
    other = _copy_of(app, client)
    client.delete_cookie("session")
    clock.offset += timedelta(seconds=30)
    _sign_in_with_totp(actions, user_with_totp["secret"])
    assert len(rows(app, UserSession.id)) == 2

    response = client.post_form(
        "/account/security/sessions/end-others", token_from="/account/security"
    )

    assert response.status_code == 303
    assert len(rows(app, UserSession.id)) == 1
    assert other.get("/account/security").status_code == 302
    assert client.get("/account/security").status_code == 200


def test_htmx_request_after_signout_is_sent_to_signin(client, actions, user_with_totp):
    actions.signin()
    actions.challenge(totp_now(user_with_totp["secret"]))
    actions.signout()

    response = client.get(
        "/account/security/authenticator",
        headers={
            "HX-Request": "true",
            "HX-Target": "modal-root",
            "HX-Current-URL": "http://localhost/account/security",
        },
    )

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/signin?next=/account/security"
