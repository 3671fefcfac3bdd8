"""Rate limits on sign-in, sign-up and every code entry, and their 429 answer."""

import time
from datetime import timedelta

import pytest
from support import PASSWORD, totp_now

from mfasite import clock, events, messages
from mfasite.extensions import db
from mfasite.models import PendingSignIn, SecurityEvent, TotpDevice, User, UserSession

LIMITED = "Too many attempts. Please wait a minute and try again."
LIMITED_HOUR = "Too many attempts. Please wait an hour and try again."


@pytest.fixture
def config_overrides():
    return {
        "SIGNIN_IP_LIMIT": "3 per minute",
        "PASSWORD_FAILURE_LIMIT": "3 per hour",
        "SIGNUP_IP_LIMIT": "2 per hour",
        "CODE_ENTRY_IP_LIMIT": "30 per minute",
        "SECOND_FACTOR_LIMIT": "6 per day",
    }


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(
            db.select(db.func.count()).select_from(model).where(*where)
        )


def _assert_limited(response, wait=LIMITED):
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60 * 60 * 24
    assert wait in response.get_data(as_text=True)


def test_signin_from_one_address_limited(client, actions, app):
    actions.signup()
    actions.signout()
    for attempt in range(3):
        assert actions.signin(password=f"wrong {attempt}").status_code == 401

    response = actions.signin()

    _assert_limited(response)
    # The window, rounded up to whole seconds.
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert "<html" in response.get_data(as_text=True)
    assert _count(app, UserSession) == 0
    assert client.get("/").status_code == 302


def test_signin_limit_per_address_leaves_other_addresses_alone(actions, new_browser):
    actions.signup()
    actions.signout()
    for _ in range(3):
        actions.signin(email="nobody@example.com")
    assert actions.signin().status_code == 429

    other = new_browser(remote_addr="127.0.0.2")
    assert other.signin().status_code == 303


def test_signin_wrong_passwords_for_one_account_limited_from_any_address(
    actions, new_browser, app
):
    actions.signup()
    actions.signout()
    for number in range(3):
        browser = new_browser(remote_addr=f"127.0.1.{number}")
        assert browser.signin(password="wrong password").status_code == 401
    failures = _count(
        app, SecurityEvent, SecurityEvent.kind == events.SIGNIN_FAILED_PASSWORD
    )

    response = new_browser(remote_addr="127.0.2.1").signin(email=" ADA@example.com ")

    _assert_limited(response, LIMITED_HOUR)
    assert _count(app, UserSession) == 0
    assert _count(
        app, SecurityEvent, SecurityEvent.kind == events.SIGNIN_FAILED_PASSWORD
    ) == (failures)


def test_signin_unknown_email_limited_like_a_known_one(new_browser):
    for number in range(3):
        browser = new_browser(remote_addr=f"127.0.1.{number}")
        assert browser.signin(email="ghost@example.com").status_code == 401

    response = new_browser(remote_addr="127.0.2.1").signin(email="ghost@example.com")

    _assert_limited(response, LIMITED_HOUR)


def test_signin_correct_passwords_not_counted_against_account(actions, new_browser):
    actions.signup()
    actions.signout()
    for number in range(4):
        browser = new_browser(remote_addr=f"127.0.1.{number}")
        assert browser.signin().status_code == 303


def test_signin_limit_lifts_when_its_window_passes(app, actions):
    app.config["SIGNIN_IP_LIMIT"] = "2 per 2 seconds"
    actions.signup()
    actions.signout()
    actions.signin(password="wrong 1")
    actions.signin(password="wrong 2")
    limited = actions.signin()
    assert limited.status_code == 429

    time.sleep(int(limited.headers["Retry-After"]) + 0.2)

    assert actions.signin().status_code == 303


def test_signup_limited_per_address(actions, app):
    assert actions.signup(email="one@example.com").status_code == 303
    actions.signout()
    assert actions.signup(email="two@example.com").status_code == 303
    actions.signout()

    response = actions.signup(email="three@example.com")

    _assert_limited(response, LIMITED_HOUR)
    assert _count(app, User, User.email == "three@example.com") == 0


def _start_signin(new_browser, user):
    browser = new_browser()
    assert browser.signin(user["email"]).status_code == 303
    return browser


def test_challenge_codes_share_one_budget_across_pending_signins(
    new_browser, user_with_totp, app
):
    first = _start_signin(new_browser, user_with_totp)
    second = _start_signin(new_browser, user_with_totp)
    for wrong in ("000000", "111111", "222222", "333333"):
        assert first.challenge(wrong).status_code == 400
    assert second.challenge("aaaa-bbbb", method="backup").status_code == 400
    assert second.challenge("444444").status_code == 400
    with app.app_context():
        step_before = db.session.scalar(db.select(TotpDevice.last_used_step))

    response = second.challenge(totp_now(user_with_totp["secret"]))

    _assert_limited(
        response,
        messages.BUDGET_SPENT["second-factor"].format(wait="24 hours"),
    )
    assert _count(app, UserSession) == 0
    with app.app_context():
        assert db.session.scalar(db.select(TotpDevice.last_used_step)) == step_before
        attempts = db.session.scalars(db.select(PendingSignIn.failed_attempts)).all()
    assert sorted(attempts) == [2, 4]


def test_challenge_budget_spent_blocks_a_new_pending_signin_too(
    new_browser, user_with_totp, app
):
    for _ in range(2):
        browser = _start_signin(new_browser, user_with_totp)
        for wrong in ("000000", "111111", "222222"):
            browser.challenge(wrong)

    late = _start_signin(new_browser, user_with_totp)
    response = late.challenge(user_with_totp["backup_codes"][0], method="backup")

    assert response.status_code == 429
    assert _count(app, UserSession) == 0
    with app.app_context():
        unused = db.session.scalar(
            db.text("SELECT count(*) FROM recovery_code WHERE used_at IS NULL")
        )
    assert unused == 10


def test_code_entry_limited_per_address(app, new_browser, user_with_totp):
    app.config["CODE_ENTRY_IP_LIMIT"] = "3 per minute"
    browser = _start_signin(new_browser, user_with_totp)
    for wrong in ("000000", "111111", "222222"):
        assert browser.challenge(wrong).status_code == 400

    response = browser.challenge(totp_now(user_with_totp["secret"]))

    _assert_limited(response)
    with app.app_context():
        assert db.session.scalar(db.select(PendingSignIn.failed_attempts)) == 3
    assert _count(app, UserSession) == 0


def test_reauthenticate_draws_on_the_second_factor_budget(app, actions, user_with_totp):
    app.config["SECOND_FACTOR_LIMIT"] = "3 per day"
    actions.signin()
    assert actions.challenge(totp_now(user_with_totp["secret"])).status_code == 303
    clock.offset += timedelta(minutes=20)
    for wrong in ("000000", "111111"):
        response = actions.client.post_form(
            "/account/security/reauthenticate",
            {"password": PASSWORD, "code": wrong},
            token_from="/account/security",
        )
        assert response.status_code == 400

    response = actions.client.post_form(
        "/account/security/reauthenticate",
        {"password": PASSWORD, "code": totp_now(user_with_totp["secret"])},
        token_from="/account/security",
        htmx=True,
    )

    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert body.startswith('<div class="modal-step" id="modal-step">')
    assert "<html" not in body
    assert "Too many verification codes were tried" in body
    assert 1 <= int(response.headers["Retry-After"]) <= 24 * 60 * 60


def test_reauthenticate_wrong_passwords_count_against_the_account(
    app, actions, user_with_totp
):
    actions.signin()
    actions.challenge(totp_now(user_with_totp["secret"]))
    for _ in range(3):
        response = actions.client.post_form(
            "/account/security/reauthenticate",
            {"password": "not it", "code": "000000"},
            token_from="/account/security",
        )
        assert response.status_code == 400

    actions.client.post_form("/signout", token_from="/account/security")
    response = actions.signin()

    _assert_limited(response, "Too many attempts. Please wait")


def test_support_unblock_clears_an_accounts_limits(
    app, new_browser, user_with_totp, runner
):
    app.config["SECOND_FACTOR_LIMIT"] = "1 per day"
    browser = _start_signin(new_browser, user_with_totp)
    browser.challenge("000000")
    for number in range(3):
        new_browser(remote_addr=f"127.0.1.{number}").signin(password="wrong")
    assert new_browser().signin().status_code == 429
    assert browser.challenge(totp_now(user_with_totp["secret"])).status_code == 429

    result = runner.invoke(args=["mfa", "unblock", "ADA@example.com"])

    assert result.exit_code == 0, result.output
    assert result.output == "Rate limits cleared for ada@example.com.\n"
    assert new_browser().signin().status_code == 303
    assert browser.challenge(totp_now(user_with_totp["secret"])).status_code == 303


def test_support_unblock_unknown_email_refused(runner):
    result = runner.invoke(args=["mfa", "unblock", "nobody@example.com"])

    assert result.exit_code == 1
    assert "No account with email nobody@example.com." in result.output
