"""Enforcement: a nag bar during the grace sign-ins, then only enrollment."""

import pytest
from support import PASSWORD, sample_path, totp_now

from mfasite.enforcement import EXEMPT, UNENROLLED, enforce_mfa

NAG = "Set up multi-factor authentication."
LAST_NAG = "From your next sign-in on, you will need it to use your account."
BLOCKED = "Multi-factor authentication is required."
SECURITY_LINK = '<a href="/account/security">Set it up now</a>'

# Pages a blocked account may not reach, with the method each is asked with.
BLOCKED_PAGES = [
    ("get", "/"),
    ("get", "/account"),
    ("get", "/account/security/backup-codes"),
    ("get", "/account/security/methods/totp/remove"),
    ("post", "/account/security/methods/totp/prefer"),
    ("post", "/account/security/sessions/end-others"),
]


def _blocked_account(actions):
    """An account past its grace sign-ins, signed in again."""
    actions.signup()
    actions.signout()
    response = actions.signin()
    assert response.status_code == 303


def _request(client, method, path, **kwargs):
    if method == "post":
        data = {"csrf_token": client.csrf_token("/account/security")}
        return client.post(path, data=data, **kwargs)
    return client.get(path, **kwargs)


def test_first_signin_shows_nag_bar_on_every_page(client, actions):
    actions.signup()

    for path in ["/", "/account", "/account/security"]:
        response = client.get(path)
        page = response.get_data(True)
        assert response.status_code == 200, path
        assert NAG in page and LAST_NAG in page and SECURITY_LINK in page


def test_first_signin_of_cli_account_shows_nag_bar(client, actions, runner):
    runner.invoke(
        args=["users", "create", "ada@example.com"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )

    actions.signin()
    response = client.get("/")

    assert response.status_code == 200
    assert LAST_NAG in response.get_data(True)


@pytest.mark.parametrize(("method", "path"), BLOCKED_PAGES)
def test_next_signin_sends_other_pages_to_security(client, actions, method, path):
    _blocked_account(actions)

    response = _request(client, method, path)

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/security"


@pytest.mark.parametrize(("method", "path"), BLOCKED_PAGES)
def test_next_signin_sends_htmx_requests_to_security(client, actions, method, path):
    _blocked_account(actions)

    response = _request(
        client, method, path, headers={"HX-Request": "true", "HX-Target": "modal-step"}
    )

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/account/security"


def test_next_signin_sends_every_unmarked_route_to_security(client, app, actions):
    """A view added later is blocked unless it says it serves enrollment."""
    _blocked_account(actions)
    token = client.csrf_token("/account/security")

    checked = 0
    for rule in app.url_map.iter_rules():
        access = getattr(app.view_functions[rule.endpoint], "mfa_access", ())
        if rule.endpoint == "static" or {UNENROLLED, EXEMPT} & set(access):
            continue
        path = sample_path(rule)
        for method in {"GET", "POST"} & rule.methods:
            response = client.open(path, method=method, data={"csrf_token": token})
            assert response.status_code == 302, (method, path)
            assert response.headers["Location"] == "/account/security"
            checked += 1

    assert checked >= len(BLOCKED_PAGES)


def test_next_signin_allows_security_page_with_blocked_bar(client, actions):
    _blocked_account(actions)

    page = client.get("/account/security").get_data(True)

    assert BLOCKED in page
    assert LAST_NAG not in page


def test_next_signin_allows_enrollment_steps(client, actions):
    _blocked_account(actions)

    assert client.get("/account/security/authenticator").status_code == 200
    assert client.get("/account/security/authenticator/verify").status_code == 200
    response = client.get(
        "/account/security/authenticator",
        headers={"HX-Request": "true", "HX-Target": "modal-root"},
    )
    assert response.status_code == 200
    assert response.get_data(True).startswith("<dialog")


def test_next_signin_allows_signout_and_static(client, actions):
    _blocked_account(actions)

    assert client.get("/static/js/site.js").status_code == 200
    response = actions.signout()
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin"


def test_enrolling_lifts_block(client, actions):
    _blocked_account(actions)

    actions.enroll_totp()
    response = client.get("/")

    assert response.status_code == 200
    assert NAG not in response.get_data(True)
    assert BLOCKED not in response.get_data(True)


def test_enrolled_user_sees_no_bar(client, actions, user_with_totp):
    actions.signin()
    actions.challenge(totp_now(user_with_totp["secret"]))

    page = client.get("/").get_data(True)

    assert NAG not in page and BLOCKED not in page


def test_enforcement_costs_no_query_for_enrolled_user(
    client, app, actions, user_with_totp, count_statements
):
    actions.signin()
    actions.challenge(totp_now(user_with_totp["secret"]))
    client.get("/")

    with count_statements() as with_hook:
        assert client.get("/").status_code == 200
    app.before_request_funcs[None].remove(enforce_mfa)
    with count_statements() as without_hook:
        assert client.get("/").status_code == 200

    # The only statement is the user loader's: session row joined to the user.
    assert len(with_hook) == len(without_hook) == 1
    assert "FROM user_session" in with_hook[0]


class TestGraceOfThree:
    @pytest.fixture
    def config_overrides(self):
        return {"MFA_GRACE_SIGNINS": 3}

    def test_bar_counts_down_signins_left(self, client, actions):
        actions.signup()
        bars = [client.get("/").get_data(True)]
        for _ in range(2):
            actions.signout()
            actions.signin()
            bars.append(client.get("/").get_data(True))
        actions.signout()
        actions.signin()

        assert "You have 2 more sign-ins before it is required." in bars[0]
        assert "You have 1 more sign-in before it is required." in bars[1]
        assert LAST_NAG in bars[2]
        response = client.get("/")
        assert response.status_code == 302
        assert response.headers["Location"] == "/account/security"


class TestGraceOfZero:
    @pytest.fixture
    def config_overrides(self):
        return {"MFA_GRACE_SIGNINS": 0}

    def test_first_signin_is_blocked(self, client, actions):
        actions.signup()

        response = client.get("/")

        assert response.status_code == 302
        assert response.headers["Location"] == "/account/security"
        assert BLOCKED in client.get("/account/security").get_data(True)
