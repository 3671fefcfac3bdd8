"""Backup codes: shown once, stored hashed, each accepted once, even in a race."""

import re
from datetime import timedelta
from functools import partial

import pytest
from support import at_once, pending_browsers, rows, text, totp_now

from mfasite import clock, events, messages
from mfasite.extensions import db
from mfasite.mfa import crypto, recovery
from mfasite.mfa.errors import InvalidCode
from mfasite.models import PendingSignIn, RecoveryCode, SecurityEvent, UserSession

REGENERATE = "/account/security/backup-codes"
SAVED = "/account/security/backup-codes/saved"
_CODES = re.compile(r"<li><code>([^<]*)</code></li>")


def _unused(app):
    return sorted(rows(app, RecoveryCode.code_hmac, RecoveryCode.used_at.is_(None)))


def _hmac(app, code):
    with app.app_context():
        return crypto.code_hmac(recovery.normalize(code))


def _event_kinds(app):
    return rows(app, SecurityEvent.kind)


def _sign_in_with_backup(actions, code):
    actions.signin()
    return actions.challenge(code, method="backup")


def _signed_in(response):
    return response.status_code == 303 and response.headers["Location"] == "/"


def _sign_in_with_totp(actions, secret):
    actions.signin()
    assert _signed_in(actions.challenge(totp_now(secret)))


# Shown once


def test_first_enrollment_shows_ten_codes_once(client, app, actions):
    actions.signup()
    secret = actions.start_totp()

    response = actions.verify_totp(totp_now(secret))

    page = response.get_data(True)
    codes = _CODES.findall(page)
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}", code) for code in codes)
    assert ">Copy</button>" in page
    assert (
        ">Download (.txt)</a>" in page and 'download="mfasite-backup-codes.txt"' in page
    )
    assert '<label for="codes-saved">I have saved these codes</label>' in page
    # The download holds the same codes, one a line.
    href = re.search(r'href="(data:text/plain[^"]*)"', page).group(1)
    assert all(code in href for code in codes)
    assert not any(
        code in client.get("/account/security").get_data(True) for code in codes
    )


def test_backup_codes_saved_closes_dialog(client, actions):
    actions.signup()
    actions.enroll_totp()

    plain = client.post_form(SAVED, {"saved": "y"}, token_from="/account/security")
    htmx = client.post_form(
        SAVED, {"saved": "y"}, token_from="/account/security", htmx=True
    )

    assert plain.status_code == 303
    assert plain.headers["Location"] == "/account/security"
    assert htmx.status_code == 204
    assert htmx.headers["HX-Redirect"] == "/account/security"


def test_backup_codes_are_stored_hashed(app, actions):
    actions.signup()

    _, codes = actions.enroll_totp()

    stored_rows = rows(app, RecoveryCode)
    hmacs = sorted(row.code_hmac for row in stored_rows)
    assert hmacs == sorted(_hmac(app, code) for code in codes)
    stored = " ".join(repr(vars(row)) for row in stored_rows)
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored


# Used at sign-in


def test_challenge_backup_page_explains_backup_codes(client, actions, user_with_totp):
    actions.signin()

    page = client.get("/signin/challenge?method=backup").get_data(True)

    assert "Enter one of the backup codes" in page
    assert 'action="/signin/challenge?method=backup"' in page
    assert "Use a backup code</a>" not in page


def test_backup_code_signs_in_and_says_how_many_left(
    client, app, actions, user_with_totp
):
    code = user_with_totp["backup_codes"][7]

    response = _sign_in_with_backup(actions, code)

    assert _signed_in(response)
    page = text(client.get("/"))
    assert "Backup code accepted. You have 9 backup codes left." in page
    assert len(_unused(app)) == 9
    assert _hmac(app, code) not in _unused(app)
    assert _event_kinds(app).count(events.BACKUP_CODE_USED) == 1
    assert "9 of your backup codes are left." in text(client.get("/account/security"))


def test_each_backup_code_works_once_in_any_order(client, app, actions, user_with_totp):
    codes = user_with_totp["backup_codes"]

    for code in (codes[7], codes[2], codes[9]):
        assert _signed_in(_sign_in_with_backup(actions, code))
        actions.signout()
    response = _sign_in_with_backup(actions, codes[2])

    assert response.status_code == 400
    assert messages.INVALID_CODE in text(response)
    assert len(_unused(app)) == 7
    assert rows(app, PendingSignIn.failed_attempts) == [1]


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c.upper(),
        lambda c: c.replace("-", ""),
        lambda c: f"  {c[:4]} {c[5:]}  ",
        lambda c: c[:2] + "-" + c[2:].upper().replace("-", " - "),
    ],
)
def test_backup_code_ignores_case_spaces_and_dashes(
    client, app, actions, user_with_totp, typed
):
    code = user_with_totp["backup_codes"][0]

    response = _sign_in_with_backup(actions, typed(code))

    assert _signed_in(response)
    assert _hmac(app, code) not in _unused(app)


@pytest.mark.parametrize("code", ["abcd-efgh", "abcd-efg", "abcd-efghj", "12345678"])
def test_wrong_backup_code_is_refused(client, app, actions, user_with_totp, code):
    before = _unused(app)

    response = _sign_in_with_backup(actions, code)

    assert response.status_code == 400
    assert messages.INVALID_CODE in text(response)
    assert _unused(app) == before
    assert events.BACKUP_CODE_USED not in _event_kinds(app)


def test_backup_code_of_another_user_is_refused(client, app, actions, user_with_totp):
    theirs = user_with_totp["backup_codes"][0]
    actions.signup(email="bob@example.com")
    actions.enroll_totp()
    actions.signout()

    actions.signin(email="bob@example.com")
    response = actions.challenge(theirs, method="backup")

    assert response.status_code == 400
    assert _hmac(app, theirs) in _unused(app)


class TestFewCodes:
    @pytest.fixture
    def config_overrides(self):
        return {"BACKUP_CODE_COUNT": 2}

    def test_last_backup_code_says_to_make_new_ones(
        self, client, app, actions, user_with_totp
    ):
        first, last = user_with_totp["backup_codes"]
        _sign_in_with_backup(actions, first)
        assert messages.BACKUP_CODE_ONE_LEFT in text(client.get("/"))
        actions.signout()

        response = _sign_in_with_backup(actions, last)

        assert _signed_in(response)
        assert messages.BACKUP_CODE_LAST in text(client.get("/"))
        assert _unused(app) == []


def test_same_backup_code_in_two_browsers_at_once_succeeds_once(
    app, actions, user_with_totp
):
    code = user_with_totp["backup_codes"][4]
    path = "/signin/challenge?method=backup"
    browsers = pending_browsers(app, 2, path)

    responses = at_once(
        *(
            partial(browser.post, path, data={"csrf_token": token, "code": code})
            for browser, token in browsers
        )
    )

    assert sorted(response.status_code for response in responses) == [303, 400]
    assert len(_unused(app)) == 9
    assert len(rows(app, UserSession)) == 1
    assert _event_kinds(app).count(events.BACKUP_CODE_USED) == 1


def test_consume_same_code_in_two_threads_succeeds_once(app, actions, user_with_totp):
    user = actions.user()

    def consume(code):
        with app.app_context():
            try:
                recovery.consume(user, code)
                db.session.commit()
                return "used"
            except InvalidCode:
                db.session.rollback()
                return "refused"

    for code in user_with_totp["backup_codes"][:3]:
        outcomes = at_once(partial(consume, code), partial(consume, code))
        assert sorted(outcomes) == ["refused", "used"]
    assert len(_unused(app)) == 7


# Regenerating


def test_regenerate_asks_to_confirm(client, actions, user_with_totp):
    _sign_in_with_totp(actions, user_with_totp["secret"])

    response = client.get(REGENERATE)

    assert response.status_code == 200
    assert "the old codes stop working at once" in text(response)
    assert ">Continue</button>" in response.get_data(True)


def test_regenerate_voids_old_codes(client, app, actions, user_with_totp):
    old = user_with_totp["backup_codes"]
    _sign_in_with_totp(actions, user_with_totp["secret"])

    response = client.post_form(REGENERATE, token_from="/account/security")

    assert response.status_code == 200
    assert messages.BACKUP_CODES_REGENERATED in text(response)
    new = _CODES.findall(response.get_data(True))
    assert len(new) == 10 and not set(new) & set(old)
    assert _unused(app) == sorted(_hmac(app, code) for code in new)
    assert _event_kinds(app).count(events.BACKUP_CODES_GENERATED) == 2
    actions.signout()
    assert _sign_in_with_backup(actions, old[0]).status_code == 400
    assert _signed_in(actions.challenge(new[0], method="backup"))


def test_regenerate_without_mfa_is_not_found(client, app, actions):
    actions.signup()

    response = client.get(REGENERATE)

    assert response.status_code == 404
    assert rows(app, RecoveryCode) == []


def test_regenerate_after_fifteen_minutes_needs_reauthentication(
    client, app, actions, user_with_totp
):
    _sign_in_with_totp(actions, user_with_totp["secret"])
    before = _unused(app)
    token = client.csrf_token("/account/security")
    clock.offset += timedelta(minutes=16)

    response = client.post(REGENERATE, data={"csrf_token": token})

    assert response.status_code == 200
    assert "Confirm it's you" in text(response)
    assert _unused(app) == before
