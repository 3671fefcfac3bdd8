"""Sign-up, sign-in with its second-factor challenge, and sign-out."""

import logging
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import events, key_script, messages, passwords, ratelimits, sessions
from ..enforcement import PENDING, UNENROLLED, allow
from ..extensions import db
from ..mfa import challenge, webauthn
from ..mfa.errors import MfaError
from ..mfa.methods import LABELS, active_methods
from ..models import METHOD_SMS, METHOD_WEBAUTHN, User
from ..sms import notice
from . import bp, pending, sms_challenge
from .forms import ChallengeForm, SignInForm, SignUpForm

log = logging.getLogger(__name__)


def _safe_next(url):
    """Only same-site paths may be a destination after sign-in.

    Browsers drop tabs and line breaks from URLs and read a backslash as a
    slash, so "/<tab>/evil.example" would leave the site: any control
    character, space or backslash disqualifies the value outright.
    """
    if not url or any(ch <= " " or ch in "\\\x7f" for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return None
    return url


def _finish_signin(user, remember=False):
    """Open the real session; count the sign-in against the MFA grace period."""
    if not user.has_mfa:
        user.signins_without_mfa += 1
    next_url = sessions.start(user, remember=remember)
    notice.refresh(user)
    events.record(user, events.SIGNIN)
    db.session.commit()
    return redirect(_safe_next(next_url) or url_for("account.home"), 303)


@bp.route("/signup", methods=["GET", "POST"])
@ratelimits.signup_ip_limit
def signup():
    """Create an account with email and password, then sign it in."""
    if not current_app.config["SIGNUP_ENABLED"]:
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("account.home"))

    form = SignUpForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("auth/signup.html", form=form), status

    user = User(
        email=form.email.data, password_hash=passwords.hash_password(form.password.data)
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        form.email.errors.append(messages.EMAIL_TAKEN)
        return render_template("auth/signup.html", form=form), 400

    events.record(user, events.SIGNUP)
    log.info("account created user=%s", user.id)
    return _finish_signin(user)


@bp.route("/signin", methods=["GET", "POST"])
@ratelimits.signin_ip_limit
@ratelimits.password_failure_limit
def signin():
    """First step: email and password. A second factor follows if the user has one."""
    if current_user.is_authenticated:
        return redirect(url_for("account.home"))

    if _safe_next(request.args.get("next")):
        session[sessions.NEXT_URL_KEY] = request.args["next"]

    form = SignInForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("auth/signin.html", form=form), status

    user = db.session.scalar(db.select(User).where(User.email == form.email.data))
    if not passwords.verify_password(user, form.password.data):
        ratelimits.password_failed()
        if user is not None:
            events.record(user, events.SIGNIN_FAILED_PASSWORD)
            db.session.commit()
        log.info("sign-in refused: bad email or password")
        flash(messages.INVALID_CREDENTIALS, "error")
        return render_template("auth/signin.html", form=form), 401

    if not user.has_mfa:
        return _finish_signin(user)

    pending.begin(user)
    db.session.commit()
    return redirect(url_for("auth.challenge"), 303)


def _challenge_method(pending_signin, requested):
    methods = active_methods(pending_signin.user)
    if requested == challenge.BACKUP or requested in methods:
        return requested, methods
    return (methods[0] if methods else challenge.BACKUP), methods


@bp.route("/signin/challenge", endpoint="challenge", methods=["GET", "POST"])
@ratelimits.code_entry_ip_limit
@allow(PENDING)
def challenge_page():
    """Second step: a code (or key) for the method chosen, or a backup code."""
    pending_signin = pending.current()
    if pending_signin is None:
        pending.discard()
        return redirect(url_for("auth.signin"))
    if challenge.is_expired(pending_signin):
        pending.discard(pending_signin)
        db.session.commit()
        flash(messages.SIGNIN_EXPIRED, "error")
        return redirect(url_for("auth.signin"), 303)

    method, methods = _challenge_method(pending_signin, request.args.get("method"))
    form = ChallengeForm()
    context = {
        "form": form,
        "method": method,
        "other_methods": [m for m in methods if m != method],
        "labels": LABELS,
    }
    if method == METHOD_SMS:
        context["sms"] = sms_challenge.context(
            pending_signin, send=request.method == "GET"
        )
    if method == METHOD_WEBAUTHN:
        context["key_config"] = key_step_config(pending_signin)
        db.session.commit()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("auth/challenge.html", **context), status

    user = pending_signin.user
    ratelimits.spend_code_attempt(user)
    try:
        detail = challenge.verify(pending_signin, method, form.code.data)
    except MfaError as error:
        return _refuse_code(pending_signin, method, error, context)

    pending.discard(pending_signin)
    if method == challenge.BACKUP:
        events.record(user, events.BACKUP_CODE_USED)
        flash(_backup_message(detail), "warning" if detail <= 2 else "info")
    return _finish_signin(user, remember=form.remember.data)


def key_step_config(pending_signin):
    """A fresh sign-in challenge for the "Use security key" button."""
    options = webauthn.authentication_options(pending_signin.user, pending_signin)
    return key_script.config(
        "get", options, url_for("auth.verify_key"), "security-key-step"
    )


def _backup_message(left):
    if left == 0:
        return messages.BACKUP_CODE_LAST
    if left == 1:
        return messages.BACKUP_CODE_ONE_LEFT
    return messages.BACKUP_CODE_ACCEPTED.format(left=left)


def _refuse_code(pending_signin, method, error, context):
    if not count_refusal(pending_signin, method, error):
        return redirect(url_for("auth.signin"), 303)
    context["form"].code.errors.append(messages.INVALID_CODE)
    return render_template("auth/challenge.html", **context), 400


def count_refusal(pending_signin, method, error):
    """Log and count a refused second factor; False when the sign-in is over."""
    user = pending_signin.user
    log.info(
        "second factor refused user=%s method=%s reason=%s detail=%r",
        user.id,
        method,
        type(error).__name__,
        str(error),
    )
    events.record(user, events.SECOND_FACTOR_FAILED, detail=LABELS.get(method))
    left = challenge.record_failure(
        pending_signin, current_app.config["MAX_CODE_ATTEMPTS"]
    )

    if left == 0:
        events.record(user, events.SIGNIN_ABANDONED)
        pending.discard()
        db.session.commit()
        flash(messages.TOO_MANY_ATTEMPTS, "error")
        return False

    db.session.commit()
    return True


@bp.route("/signin/cancel", methods=["POST"])
@allow(PENDING)
def cancel_signin():
    """Abandon a half-finished sign-in, for example to get a new SMS code."""
    pending.discard(pending.current())
    db.session.commit()
    flash(messages.SIGNIN_CANCELLED, "info")
    return redirect(url_for("auth.signin"), 303)


@bp.route("/signout", methods=["POST"])
@allow(PENDING, UNENROLLED)
def signout():
    """Sign out: the server-side session is deleted, not just the cookie."""
    if current_user.is_authenticated:
        events.record(current_user, events.SIGNOUT)
    pending.discard(pending.current())
    sessions.end()
    db.session.commit()
    flash(messages.SIGNED_OUT, "info")
    return redirect(url_for("auth.signin"), 303)
