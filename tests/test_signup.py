"""Sign-up: normalised unique emails, password length, and the operator's switch."""

import pytest
from support import PASSWORD, rows, text

from mfasite import events, messages
from mfasite.models import SecurityEvent, User


def _signup(client, email, password, confirm=None):
    return client.post_form(
        "/signup",
        {
            "email": email,
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
        token_from="/signup",
    )


def test_signup_page_has_labelled_fields(client):
    page = client.get("/signup").get_data(True)

    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page
    assert '<label for="confirm">Confirm password</label>' in page
    assert ">Sign up</button>" in page


def test_signup_creates_account_and_signs_in(client, actions, app):
    response = actions.signup()

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert rows(app, User.email) == ["ada@example.com"]
    home = client.get("/")
    assert home.status_code == 200
    assert "You are signed in as <strong>ada@example.com</strong>" in home.get_data(
        True
    )
    kinds = rows(app, SecurityEvent.kind)
    assert sorted(kinds) == sorted([events.SIGNUP, events.SIGNIN])


def test_signup_normalises_email_case_and_spaces(client, app):
    response = _signup(client, "  Ada.Lovelace@Example.COM ", PASSWORD)

    assert response.status_code == 303
    assert rows(app, User.email) == ["ada.lovelace@example.com"]


@pytest.mark.parametrize(
    "again", ["ada@example.com", "ADA@EXAMPLE.COM", "  Ada@Example.com  "]
)
def test_signup_with_taken_email_is_refused(app, actions, again):
    actions.signup()
    actions.signout()
    client = actions.client

    response = _signup(client, again, "another password")

    assert response.status_code == 400
    assert messages.EMAIL_TAKEN in text(response)
    assert rows(app, User.email) == ["ada@example.com"]
    assert client.get("/").status_code == 302
    # The first account keeps its own password.
    assert actions.signin(password=PASSWORD).status_code == 303


@pytest.mark.parametrize("length", [8, 128])
def test_signup_accepts_password_at_length_limits(client, app, length):
    response = _signup(client, "ada@example.com", "p" * length)

    assert response.status_code == 303
    assert rows(app, User.email) == ["ada@example.com"]


def test_signup_accepts_password_without_composition_rules(client, app):
    response = _signup(client, "ada@example.com", "aaaaaaaa")

    assert response.status_code == 303


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("p" * 7, "Use at least 8 characters."),
        ("p" * 129, "Use at most 128 characters."),
        ("p" * 5000, "Use at most 128 characters."),
    ],
)
def test_signup_with_bad_password_length_is_refused(client, app, password, message):
    response = _signup(client, "ada@example.com", password)

    assert response.status_code == 400
    assert message in text(response)
    assert rows(app, User.email) == []
    assert "_user_id" not in client.session_data()


def test_signup_with_different_confirmation_is_refused(client, app):
    response = _signup(client, "ada@example.com", PASSWORD, confirm=PASSWORD + "!")

    assert response.status_code == 400
    assert messages.PASSWORDS_DIFFER in text(response)
    assert rows(app, User.email) == []


@pytest.mark.parametrize("email", ["not-an-email", "ada@", "@example.com", ""])
def test_signup_with_bad_email_is_refused(client, app, email):
    response = _signup(client, email, PASSWORD)

    assert response.status_code == 400
    assert rows(app, User.email) == []


def test_signup_when_signed_in_goes_home(client, actions, app):
    actions.signup()

    response = client.get("/signup")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


class TestSignupSwitchedOff:
    @pytest.fixture
    def config_overrides(self):
        return {"SIGNUP_ENABLED": False}

    def test_signup_page_is_not_found(self, client):
        assert client.get("/signup").status_code == 404

    def test_signup_post_is_not_found_and_creates_nothing(self, client, app):
        token = client.csrf_token("/signin")
        response = client.post(
            "/signup",
            data={
                "csrf_token": token,
                "email": "ada@example.com",
                "password": PASSWORD,
                "confirm": PASSWORD,
            },
        )

        assert response.status_code == 404
        assert rows(app, User.email) == []

    def test_signin_page_has_no_signup_link(self, client):
        page = client.get("/signin").get_data(True)

        assert 'href="/signup"' not in page
