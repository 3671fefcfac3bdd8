"""Rate limits: how often anyone may try, counted where every instance sees it.

Two kinds. Request limits are Flask-Limiter decorators on views, per IP or
per account; if the storage cannot be reached they let the request through
(and Flask-Limiter logs the error), so the password step stays usable.
Budgets are spent explicitly, by a view, just before it checks a code; they
fail closed: with the storage unreachable no code is checked at all, because
the second-factor budget is what stops guessing spread over many pending
sign-ins and instances.
"""

import logging
import time

from flask import current_app, g, request
from flask_login import current_user
from limits import parse
from limits.errors import StorageError

from .extensions import limiter
from .mfa import crypto

log = logging.getLogger(__name__)


class LimitReached(Exception):
    """A budget is spent; one attempt comes back after retry_after seconds."""

    def __init__(self, budget, retry_after):
        super().__init__(budget.name)
        self.budget = budget
        self.retry_after = retry_after


class LimitsUnavailable(Exception):
    """The rate-limit storage cannot be reached, so a budget cannot be checked."""


class Budget:
    """Attempts per key over a window, shared by every process and instance."""

    def __init__(self, name, setting):
        self.name = name
        self.setting = setting


# Codes checked per account: every method, every pending sign-in and
# re-authentication draw on it, so parallel guessing shares one budget.
SECOND_FACTOR = Budget("second-factor", "SECOND_FACTOR_LIMIT")
# Texts a signed-in user asks for (enrollment, re-authentication, password
# change): new numbers escape the per-number cap, this budget does not.
SMS_SEND = Budget("sms-send", "SMS_SEND_LIMIT")
# The scope the per-account wrong-password limit is counted under.
PASSWORD_FAILURES = "password-failures"


def spend(budget, key):
    """Spend one attempt of a budget before checking a code.

    The attempt is taken before the check, atomically in the storage, so
    parallel requests can never overshoot the budget; a correct code costs
    one attempt too. Raises LimitReached when nothing is left and
    LimitsUnavailable when the storage cannot be reached.
    """
    item = parse(current_app.config[budget.setting])
    strategy = limiter.limiter
    try:
        if strategy.hit(item, budget.name, str(key)):
            return
        reset_at = strategy.get_window_stats(item, budget.name, str(key)).reset_time
    except StorageError as error:
        log.error(
            "rate-limit storage unreachable, refusing %s: %s",
            budget.name,
            type(error.storage_error).__name__,
        )
        raise LimitsUnavailable(budget.name) from error

    log.info("rate limit reached: %s key=%s", budget.name, key)
    raise LimitReached(budget, reset_at - time.time())


def spend_code_attempt(user):
    """Spend one attempt of the user's second-factor budget (see spend)."""
    spend(SECOND_FACTOR, user.id)


def clear_account(user):
    """Forget an account's wrong passwords and spent codes (a support action)."""
    strategy = limiter.limiter
    item = parse(current_app.config[SECOND_FACTOR.setting])
    strategy.clear(item, SECOND_FACTOR.name, str(user.id))
    item = parse(current_app.config["PASSWORD_FAILURE_LIMIT"])
    strategy.clear(item, account_key(user.email), PASSWORD_FAILURES)


def account_key(email):
    """A key per account that keeps the email itself out of the storage."""
    # Compared the way sign-in compares emails: trimmed and lower-cased.
    return "account:" + crypto.code_hmac((email or "").strip().lower())[:32]


def _account_of_request():
    # Unknown and known emails are counted alike: the limit reveals nothing.
    if current_user.is_authenticated:
        return account_key(current_user.email)
    return account_key(request.form.get("email"))


def password_failed():
    """Tell the per-account limit that this request's password was wrong."""
    g.password_failed = True


def _password_was_wrong(response):
    return g.get("password_failed", False)


def _setting(name):
    return lambda: current_app.config[name]


# Every sign-in POST from one address.
signin_ip_limit = limiter.limit(_setting("SIGNIN_IP_LIMIT"), methods=["POST"])
# Wrong passwords for one account, wherever a password is typed. Only a
# wrong password counts, so a user who types theirs right is not slowed.
password_failure_limit = limiter.shared_limit(
    _setting("PASSWORD_FAILURE_LIMIT"),
    scope=PASSWORD_FAILURES,
    key_func=_account_of_request,
    methods=["POST"],
    deduct_when=_password_was_wrong,
)
signup_ip_limit = limiter.limit(_setting("SIGNUP_IP_LIMIT"), methods=["POST"])
# Every code entry from one address, across all code-entry views.
code_entry_ip_limit = limiter.shared_limit(
    _setting("CODE_ENTRY_IP_LIMIT"), scope="code-entry", methods=["POST"]
)
# Requests from one address to an inbound webhook.
webhook_ip_limit = limiter.shared_limit(
    _setting("WEBHOOK_IP_LIMIT"), scope="webhook", methods=["POST"]
)
