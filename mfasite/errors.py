"""Error pages: a whole page, or a fragment for an HTMX request."""

import logging
import math
import time

from flask import render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError

from . import messages
from .extensions import db, limiter
from .ratelimits import LimitReached, LimitsUnavailable

log = logging.getLogger(__name__)

# Asked to come back after this long when the rate-limit storage is down.
UNAVAILABLE_RETRY_SECONDS = 60


def error_page(status, title, message, headers=None):
    """Render an error for however it was asked for.

    A form inside an enrollment dialog replaces its step, so the answer
    keeps the step's root element and the dialog stays usable.
    """
    if request.headers.get("HX-Target") == "modal-step":
        template = "errors/_step_message.html"
    elif request.headers.get("HX-Request"):
        template = "errors/_message.html"
    else:
        template = "errors/message.html"
    body = render_template(template, title=title, message=message)
    return body, status, headers or {}


def wait_text(seconds):
    """Say how long to wait in words: "a minute", "5 minutes", "2 hours"."""
    # Rounded to the nearest minute: the header carries the exact seconds.
    minutes = max(1, round(seconds / 60))
    if minutes == 1:
        return "a minute"
    if minutes == 60:
        return "an hour"
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


def too_many_requests(retry_after, message=messages.RATE_LIMITED):
    """The friendly 429: how long to wait, in words and in Retry-After."""
    # Rounded up: coming back a little late works, a little early does not.
    retry_after = max(1, math.ceil(retry_after))
    return error_page(
        429,
        "Too many attempts",
        message.format(wait=wait_text(retry_after)),
        {"Retry-After": str(retry_after)},
    )


def register(app):
    """Attach the error handlers to the app."""

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        log.info("request refused: %s path=%s", error.description, request.path)
        return error_page(400, "Form expired", messages.CSRF_FAILED)

    @app.errorhandler(400)
    def bad_request(error):
        return error_page(400, "Bad request", "That request was not valid.")

    @app.errorhandler(404)
    def not_found(error):
        return error_page(404, "Not found", "That page does not exist.")

    @app.errorhandler(RateLimitExceeded)
    def request_limited(error):
        log.info("rate limit reached: %s path=%s", error.limit.limit, request.path)
        current = limiter.current_limit
        reset_at = current.reset_at if current else time.time() + 60
        return too_many_requests(reset_at - time.time())

    @app.errorhandler(LimitReached)
    def budget_spent(error):
        message = messages.BUDGET_SPENT.get(error.budget.name, messages.RATE_LIMITED)
        return too_many_requests(error.retry_after, message)

    @app.errorhandler(LimitsUnavailable)
    def limits_unavailable(error):
        # Nothing of the refused request may be kept, a used code least of all.
        db.session.rollback()
        return error_page(
            503,
            "Try again shortly",
            messages.LIMITS_UNAVAILABLE,
            {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
        )

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return error_page(
            500,
            "Something went wrong",
            "Something went wrong on our side. Please try again.",
        )
