"""The Password & Security page: methods, policy, recent activity, modal steps."""

import re
from datetime import datetime, timedelta

import pytest
from support import PASSWORD, rows, text, totp_now

from mfasite import clock, messages
from mfasite.extensions import db
from mfasite.models import (
    RecoveryCode,
    SecurityEvent,
    SmsDevice,
    TotpDevice,
    User,
    UserSession,
)

SECURITY = "/account/security"
ENROLL = "/account/security/authenticator"
VERIFY = "/account/security/authenticator/verify"
REAUTH = "/account/security/reauthenticate"
MODAL_ROOT = {"HX-Request": "true", "HX-Target": "modal-root"}
MODAL_STEP = {"HX-Request": "true", "HX-Target": "modal-step"}
FRAGMENT_START = '<div class="modal-step" id="modal-step">'


def _user(app):
    (user,) = rows(app, User)
    return user


def _method_row(page, method):
    return re.search(rf'<li class="method" id="method-{method}">.*?</li>', page, re.S)[
        0
    ]


def _add_confirmed_sms(app, preferred=True):
    """An SMS method set up as its own enrollment will do once it exists."""
    with app.app_context():
        user = db.session.scalar(db.select(User))
        db.session.add(
            SmsDevice(
                user_id=user.id, phone_e164="+15555550123", confirmed_at=clock.now()
            )
        )
        if preferred:
            user.preferred_method = "sms"
        db.session.commit()


def _sign_in_with_totp(actions, secret):
    actions.signin()
    response = actions.challenge(totp_now(secret))
    assert response.headers["Location"] == "/"


# The page


def test_security_page_is_reached_from_account_settings(client, actions):
    actions.signup()

    home = client.get("/").get_data(True)
    profile = client.get("/account").get_data(True)
    page = client.get(SECURITY).get_data(True)

    assert '<a href="/account">Account settings</a>' in home
    assert "<h1>Your profile</h1>" in profile
    assert '<a href="/account/security">Password &amp; Security</a>' in profile
    assert "<title>Password & Security · mfasite</title>" in page
    assert "<h1>Password &amp; Security</h1>" in page


def test_security_page_lists_three_methods_with_enroll_buttons(client, actions):
    actions.signup()

    page = client.get(SECURITY).get_data(True)

    for method, label in [
        ("sms", "SMS code"),
        ("totp", "Authenticator app"),
        ("webauthn", "Security key"),
    ]:
        row = _method_row(page, method)
        assert f"<h3>{label}</h3>" in row
        assert ">Enroll</button>" in row
        assert "Active" not in row
        # A method whose issue has not landed yet may say so instead.
        ready = re.search(
            r'hx-get="/account/security/[^"]+" hx-target="#modal-root"', row
        )
        assert bool(ready) != ("Coming soon" in row)
    totp_row = _method_row(page, "totp")
    assert f'hx-get="{ENROLL}" hx-target="#modal-root"' in totp_row
    assert 'id="backup-codes-left"' not in page


def test_security_page_shows_active_method_and_backup_codes_left(
    client, actions, user_with_totp
):
    _sign_in_with_totp(actions, user_with_totp["secret"])

    page = client.get(SECURITY).get_data(True)

    assert '<span class="badge badge--active">Active</span>' in _method_row(
        page, "totp"
    )
    assert "Active" not in _method_row(page, "sms")
    assert "10 of your backup codes are left." in page


def test_security_page_shows_recent_activity_with_time_and_ip(
    client, app, actions, user_with_totp
):
    secret = user_with_totp["secret"]
    client.post_form(
        "/signin",
        {"email": "ada@example.com", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    client.post_form(
        "/signin/challenge",
        {"code": "000000" if totp_now(secret) != "000000" else "000001"},
        token_from="/signin/challenge",
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    actions.challenge(user_with_totp["backup_codes"][0], method="backup")

    page = text(client.get(SECURITY))
    page = page[page.index('id="security-activity"') :]

    cells = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page)
    activity = [(what, ip) for _, what, ip in cells]
    assert ("Wrong verification code entered: Authenticator app", "198.51.100.7") in (
        activity
    )
    for what in [
        "Backup code used",
        "Signed in",
        "Signed out",
        "New backup codes created",
        "Sign-in method added: Authenticator app",
        "Account created",
    ]:
        assert (what, "127.0.0.1") in activity, what
    # Each event shows when it happened, to the minute, in UTC.
    now = clock.now()
    for when, _, _ in cells:
        at = datetime.strptime(when, "%Y-%m-%d %H:%M UTC")
        assert now - timedelta(minutes=2) <= at <= now, when


def test_security_page_shows_mfa_reset_with_reason(client, actions, runner, app):
    actions.signup()
    actions.enroll_totp()
    runner.invoke(args=["mfa", "reset", "ada@example.com", "--reason", "lost phone"])
    actions.signin()

    page = text(client.get(SECURITY))

    assert "Multi-factor authentication reset by support: lost phone" in page


# Steps as a dialog, a fragment or a page


@pytest.mark.parametrize("path", [ENROLL, VERIFY])
def test_enroll_step_for_enroll_button_is_a_dialog(client, actions, path):
    actions.signup()
    actions.start_totp()

    response = client.get(path, headers=MODAL_ROOT)

    body = response.get_data(True)
    assert response.status_code == 200
    assert body.startswith('<dialog class="modal" id="mfa-dialog"')
    assert body.rstrip().endswith("</dialog>")
    assert FRAGMENT_START in body
    assert "data-close-dialog>Close</button>" in body
    assert "<html" not in body


@pytest.mark.parametrize("path", [ENROLL, VERIFY])
def test_enroll_step_inside_dialog_is_a_fragment(client, actions, path):
    actions.signup()
    actions.start_totp()

    response = client.get(path, headers=MODAL_STEP)

    body = response.get_data(True)
    assert response.status_code == 200
    assert body.lstrip().startswith(FRAGMENT_START)
    assert body.count('id="modal-step"') == 1
    assert "<dialog" not in body and "<html" not in body


@pytest.mark.parametrize("path", [ENROLL, VERIFY])
def test_enroll_step_visited_directly_is_a_full_page(client, actions, path):
    actions.signup()
    actions.start_totp()

    response = client.get(path)

    body = response.get_data(True)
    assert body.startswith("<!doctype html>")
    assert FRAGMENT_START in body
    assert "<dialog" not in body
    assert "Back to Password &amp; Security" in body


def test_verify_in_dialog_shows_backup_codes_as_fragment(client, actions):
    actions.signup()
    secret = actions.start_totp()

    response = client.post_form(
        VERIFY, {"code": totp_now(secret)}, token_from=SECURITY, htmx=True
    )

    body = response.get_data(True)
    assert response.status_code == 200
    assert body.lstrip().startswith(FRAGMENT_START)
    assert len(re.findall(r"<li><code>", body)) == 10


def test_wrong_code_in_dialog_returns_fragment_with_error(client, actions):
    actions.signup()
    actions.start_totp()

    response = client.post_form(
        VERIFY, {"code": "abcdef"}, token_from=SECURITY, htmx=True
    )

    assert response.status_code == 400
    assert response.get_data(True).lstrip().startswith(FRAGMENT_START)
    assert messages.INVALID_CODE in text(response)


def test_enroll_again_in_dialog_closes_with_hx_redirect(
    client, app, actions, user_with_totp
):
    _sign_in_with_totp(actions, user_with_totp["secret"])
    secret = actions.start_totp()

    response = client.post_form(
        VERIFY, {"code": totp_now(secret)}, token_from=SECURITY, htmx=True
    )

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == SECURITY
    assert "Authenticator app is now active." in text(client.get(SECURITY))


# One method at a time, or several with a preferred one


def test_enrolling_authenticator_replaces_other_method(client, app, actions):
    actions.signup()
    _add_confirmed_sms(app)

    actions.enroll_totp()

    assert rows(app, SmsDevice) == []
    assert _user(app).preferred_method == "totp"
    page = client.get(SECURITY).get_data(True)
    assert "Active" in _method_row(page, "totp")
    assert "Active" not in _method_row(page, "sms")
    kinds = [(e.kind, e.detail) for e in rows(app, SecurityEvent)]
    assert ("method_removed", "SMS code (replaced)") in kinds
    assert ("method_added", "Authenticator app") in kinds


def test_abandoned_enrollment_keeps_other_method(client, app, actions):
    actions.signup()
    _add_confirmed_sms(app)

    secret = actions.start_totp()
    actions.verify_totp("000000" if totp_now(secret) != "000000" else "000001")

    assert len(rows(app, SmsDevice)) == 1
    assert _user(app).preferred_method == "sms"
    assert [d.confirmed_at for d in rows(app, TotpDevice)] == [None]


@pytest.mark.parametrize("method", ["email", "TOTP"])
def test_remove_unknown_method_is_not_found(client, actions, user_with_totp, method):
    _sign_in_with_totp(actions, user_with_totp["secret"])

    response = client.get(f"/account/security/methods/{method}/remove")

    assert response.status_code == 404


def test_only_method_cannot_be_removed(client, app, actions, user_with_totp):
    _sign_in_with_totp(actions, user_with_totp["secret"])
    path = "/account/security/methods/totp/remove"

    step = client.get(path, headers=MODAL_ROOT)
    response = client.post_form(path, token_from=SECURITY)

    assert messages.METHOD_NOT_REMOVABLE in text(step)
    assert response.status_code == 303
    assert messages.METHOD_NOT_REMOVABLE in text(client.get(SECURITY))
    assert len(rows(app, TotpDevice)) == 1
    assert _user(app).preferred_method == "totp"


class TestSeveralMethods:
    @pytest.fixture
    def config_overrides(self):
        return {"MFA_ALLOW_MULTIPLE": True}

    def test_enrolling_keeps_other_method_and_preferred(self, client, app, actions):
        actions.signup()
        _add_confirmed_sms(app)

        actions.enroll_totp()

        assert len(rows(app, SmsDevice)) == 1
        assert _user(app).preferred_method == "sms"
        page = client.get(SECURITY).get_data(True)
        assert "Active, preferred" in _method_row(page, "sms")
        totp_row = _method_row(page, "totp")
        assert ">Active</span>" in totp_row and "Make preferred" in totp_row

    def test_first_method_becomes_preferred(self, client, app, actions):
        actions.signup()

        actions.enroll_totp()

        assert _user(app).preferred_method == "totp"

    def test_preferred_method_is_asked_first_at_signin(self, client, app, actions):
        actions.signup()
        _add_confirmed_sms(app)
        secret, _ = actions.enroll_totp()

        response = client.post_form(
            "/account/security/methods/totp/prefer", token_from=SECURITY
        )
        actions.signout()
        actions.signin()
        clock.offset += timedelta(seconds=30)
        page = client.get("/signin/challenge").get_data(True)

        assert response.status_code == 303
        assert _user(app).preferred_method == "totp"
        assert "Enter the 6-digit code from your authenticator app." in page
        assert 'href="/signin/challenge?method=sms">Use sms code instead' in page
        assert actions.challenge(totp_now(secret)).headers["Location"] == "/"

    def test_prefer_method_not_active_changes_nothing(self, client, app, actions):
        actions.signup()
        actions.enroll_totp()

        client.post_form("/account/security/methods/sms/prefer", token_from=SECURITY)
        bad = client.post_form(
            "/account/security/methods/email/prefer", token_from=SECURITY
        )

        assert bad.status_code == 400
        assert _user(app).preferred_method == "totp"

    def test_remove_preferred_method_moves_preference(self, client, app, actions):
        actions.signup()
        _add_confirmed_sms(app)
        actions.enroll_totp()

        response = client.post_form(
            "/account/security/methods/sms/remove", token_from=SECURITY
        )

        assert response.status_code == 303
        assert rows(app, SmsDevice) == []
        assert _user(app).preferred_method == "totp"
        page = text(client.get(SECURITY))
        assert "SMS code was removed." in page
        assert "Sign-in method removed: SMS code" in page

    def test_remove_after_fifteen_minutes_needs_reauthentication(
        self, client, app, actions
    ):
        actions.signup()
        _add_confirmed_sms(app)
        actions.enroll_totp()
        token = client.csrf_token(SECURITY)
        clock.offset += timedelta(minutes=16)

        response = client.post(
            "/account/security/methods/sms/remove", data={"csrf_token": token}
        )

        assert "Confirm it's you" in text(response)
        assert len(rows(app, SmsDevice)) == 1


# Changing MFA needs a recent sign-in


def test_enroll_within_fifteen_minutes_needs_no_reauthentication(
    client, app, actions, user_with_totp
):
    _sign_in_with_totp(actions, user_with_totp["secret"])
    clock.offset += timedelta(minutes=14)

    page = client.get(ENROLL).get_data(True)

    assert "Step 1 of 2" in page


def test_enroll_after_fifteen_minutes_asks_password_and_code(
    client, app, actions, user_with_totp
):
    _sign_in_with_totp(actions, user_with_totp["secret"])
    clock.offset += timedelta(minutes=16)

    response = client.get(ENROLL, headers=MODAL_ROOT)

    page = text(response)
    assert response.status_code == 200
    assert "Confirm it's you" in page
    assert '<label for="password">Password</label>' in page
    assert '<label for="code">Code</label>' in page
    assert ">Continue</button>" in page
    assert f'value="{ENROLL}"' in page
    assert "Step 1 of 2" not in page
    assert len(rows(app, TotpDevice)) == 1


def _reauth(client, password, code, next_path=ENROLL, htmx=False):
    return client.post_form(
        REAUTH,
        {"password": password, "code": code, "next": next_path},
        token_from=SECURITY,
        htmx=htmx,
    )


def _authenticated_at(app):
    (when,) = rows(app, UserSession.authenticated_at)
    return when


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("wrong password", "current"),
        (PASSWORD, "000000"),
        (PASSWORD, ""),
        (PASSWORD, "12345"),
    ],
)
def test_reauthentication_with_wrong_values_is_refused(
    client, app, actions, user_with_totp, mid_step, password, code
):
    secret = user_with_totp["secret"]
    _sign_in_with_totp(actions, secret)
    clock.offset += timedelta(minutes=16)
    codes = {"current": totp_now(secret), "000000": "000000", "": "", "12345": "12345"}
    before = _authenticated_at(app)

    response = _reauth(client, password, codes[code], htmx=True)

    assert response.status_code == 400
    assert response.get_data(True).lstrip().startswith(FRAGMENT_START)
    assert messages.REAUTH_FAILED in text(response)
    assert _authenticated_at(app) == before
    assert "Confirm it's you" in text(client.get(ENROLL))


def test_reauthentication_without_password_is_refused(
    client, app, actions, user_with_totp
):
    secret = user_with_totp["secret"]
    _sign_in_with_totp(actions, secret)
    clock.offset += timedelta(minutes=16)
    before = _authenticated_at(app)

    response = _reauth(client, "", totp_now(secret))

    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert _authenticated_at(app) == before


def test_reauthentication_with_password_and_code_continues(
    client, app, actions, user_with_totp
):
    secret = user_with_totp["secret"]
    _sign_in_with_totp(actions, secret)
    clock.offset += timedelta(minutes=16)
    before = _authenticated_at(app)

    response = _reauth(client, PASSWORD, totp_now(secret))

    assert response.status_code == 303
    assert response.headers["Location"] == ENROLL
    assert _authenticated_at(app) > before
    assert "Step 1 of 2" in client.get(ENROLL).get_data(True)


def test_reauthentication_refuses_replayed_code(client, app, actions, user_with_totp):
    secret = user_with_totp["secret"]
    _sign_in_with_totp(actions, secret)
    clock.offset += timedelta(minutes=16)
    code = totp_now(secret)
    assert _reauth(client, PASSWORD, code).status_code == 303
    before = _authenticated_at(app)

    response = _reauth(client, PASSWORD, code)

    assert response.status_code == 400
    assert messages.REAUTH_FAILED in text(response)
    assert _authenticated_at(app) == before


def test_reauthentication_with_backup_code_uses_it_up(
    client, app, actions, user_with_totp
):
    code = user_with_totp["backup_codes"][3]
    _sign_in_with_totp(actions, user_with_totp["secret"])
    clock.offset += timedelta(minutes=16)

    response = _reauth(client, PASSWORD, code)

    assert response.status_code == 303
    assert len(rows(app, RecoveryCode, RecoveryCode.used_at.is_(None))) == 9


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/"])
def test_reauthentication_returns_only_to_security_pages(
    client, actions, user_with_totp, target
):
    _sign_in_with_totp(actions, user_with_totp["secret"])
    clock.offset += timedelta(minutes=16)

    response = _reauth(client, PASSWORD, totp_now(user_with_totp["secret"]), target)

    assert response.status_code == 303
    assert response.headers["Location"] == SECURITY


def test_reauthentication_without_mfa_asks_only_password(client, app, actions):
    actions.signup()
    clock.offset += timedelta(minutes=16)

    step = text(client.get(ENROLL))
    response = _reauth(client, PASSWORD, "")

    assert "Confirm it's you" in step
    assert '<label for="code">Code</label>' not in step
    assert response.status_code == 303
    assert response.headers["Location"] == ENROLL


def test_verify_after_fifteen_minutes_asks_reauthentication_first(client, app, actions):
    actions.signup()
    secret = actions.start_totp()
    token = client.csrf_token(SECURITY)
    clock.offset += timedelta(minutes=16)

    response = client.post(VERIFY, data={"csrf_token": token, "code": totp_now(secret)})

    page = text(response)
    assert "Confirm it's you" in page
    assert f'value="{SECURITY}"' in page
    assert [d.confirmed_at for d in rows(app, TotpDevice)] == [None]
    assert _user(app).preferred_method is None
