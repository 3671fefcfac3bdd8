"""CSRF: every form and HTMX request without its token is refused, changing nothing."""

import re

import pytest
from support import PASSWORD, sample_path, text, totp_now

from mfasite import messages
from mfasite.enforcement import EXEMPT
from mfasite.extensions import db


def _database(app):
    """Every row of every table, to show that a refused request changed nothing."""
    with app.app_context():
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in db.session.execute(table.select())),
            )
            for table in db.metadata.sorted_tables
        }


def _anonymous(actions):
    actions.signup()
    actions.signout()
    return {}


def _pending(actions):
    state = _enrolled(actions)
    actions.signout()
    actions.signin()
    return state


def _signed_in(actions):
    state = _enrolled(actions)
    state["new_secret"] = actions.start_totp()
    return state


def _enrolled(actions):
    actions.signup()
    secret, codes = actions.enroll_totp()
    return {"secret": secret, "codes": codes}


# Each form: the state it is used in, where its token comes from, its fields.
FORMS = {
    "signup": (
        _anonymous,
        "/signup",
        "/signup",
        lambda s: {
            "email": "bob@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    ),
    "signin": (
        _anonymous,
        "/signin",
        "/signin",
        lambda s: {"email": "ada@example.com", "password": PASSWORD},
    ),
    "challenge": (
        _pending,
        "/signin/challenge?method=backup",
        "/signin/challenge?method=backup",
        lambda s: {"code": s["codes"][0]},
    ),
    "cancel": (_pending, "/signin/cancel", "/signin/challenge", lambda s: {}),
    "signout": (_signed_in, "/signout", "/account/security", lambda s: {}),
    "reauthenticate": (
        _signed_in,
        "/account/security/reauthenticate",
        "/account/security",
        lambda s: {"password": PASSWORD, "code": s["codes"][1]},
    ),
    "verify": (
        _signed_in,
        "/account/security/authenticator/verify",
        "/account/security",
        lambda s: {"code": totp_now(s["new_secret"])},
    ),
    "regenerate": (
        _signed_in,
        "/account/security/backup-codes",
        "/account/security",
        lambda s: {},
    ),
    "saved": (
        _signed_in,
        "/account/security/backup-codes/saved",
        "/account/security",
        lambda s: {"saved": "y"},
    ),
    "remove": (
        _signed_in,
        "/account/security/methods/totp/remove",
        "/account/security",
        lambda s: {},
    ),
    "prefer": (
        _signed_in,
        "/account/security/methods/totp/prefer",
        "/account/security",
        lambda s: {},
    ),
    "end_others": (
        _signed_in,
        "/account/security/sessions/end-others",
        "/account/security",
        lambda s: {},
    ),
}


def _prepare(name, actions):
    """Bring the browser to the state the form is used in; return what it needs."""
    state_of, path, token_page, fields = FORMS[name]
    state = state_of(actions)
    return path, token_page, fields(state)


def _foreign_token(app):
    """A well-formed token that belongs to another browser's session."""
    other = app.test_client()
    return other.csrf_token("/signin")


def _assert_refused(response, fragment=False):
    assert response.status_code == 400
    assert messages.CSRF_FAILED in text(response)
    body = response.get_data(True)
    if fragment:
        assert "<html" not in body and 'id="error-message"' in body
    else:
        assert body.startswith("<!doctype html>")


@pytest.mark.parametrize("name", sorted(FORMS))
def test_form_without_or_with_wrong_token_is_refused(client, app, actions, name):
    path, token_page, data = _prepare(name, actions)
    before = _database(app)

    for token in (None, "", "not-a-token", _foreign_token(app)):
        sent = dict(data) if token is None else {**data, "csrf_token": token}
        _assert_refused(client.post(path, data=sent))
        assert _database(app) == before

    # The same request with its token goes through: the refusal was the token's.
    accepted = client.post(
        path, data={**data, "csrf_token": client.csrf_token(token_page)}
    )
    assert accepted.status_code in (200, 204, 303), accepted.get_data(True)


HTMX_FORMS = [
    "challenge",
    "reauthenticate",
    "verify",
    "regenerate",
    "signout",
    "end_others",
]


def _header_token(client, page):
    """The token base.html sets once on <body> for every HTMX request."""
    body = client.get(page).get_data(True)
    match = re.search(r"""<body hx-headers='\{"X-CSRFToken": "([^"]+)"\}'>""", body)
    assert match, f"no hx-headers on {page}"
    return match.group(1)


@pytest.mark.parametrize("name", HTMX_FORMS)
def test_htmx_request_without_or_with_wrong_header_is_refused(
    client, app, actions, name
):
    path, token_page, data = _prepare(name, actions)
    htmx = {"HX-Request": "true", "HX-Target": "modal-step"}
    before = _database(app)

    for header in ({}, {"X-CSRFToken": "not-a-token"}, {"X-CSRFToken": ""}):
        _assert_refused(client.post(path, data=data, headers={**htmx, **header}), True)
        assert _database(app) == before
    foreign = {"X-CSRFToken": _foreign_token(app)}
    _assert_refused(client.post(path, data=data, headers={**htmx, **foreign}), True)
    assert _database(app) == before

    token = _header_token(client, token_page)
    accepted = client.post(path, data=data, headers={**htmx, "X-CSRFToken": token})
    assert accepted.status_code in (200, 204, 303), accepted.get_data(True)
    assert _database(app) != before


def test_every_post_route_needs_token(client, app, actions):
    """A route added later without CSRF protection fails here."""
    _signed_in(actions)
    before = _database(app)
    routes = [r for r in app.url_map.iter_rules() if "POST" in r.methods]

    checked = 0
    for rule in routes:
        view = app.view_functions[rule.endpoint]
        if EXEMPT in getattr(view, "mfa_access", ()):
            continue  # a webhook: its sender signs it instead
        path = sample_path(rule)
        _assert_refused(client.post(path, data={"code": "123456"}))
        checked += 1

    assert _database(app) == before
    assert checked >= len(FORMS)
