"""Signing in with a security key: the endpoint the challenge page's script posts to."""

from flask import flash, render_template, url_for

from .. import events, key_script, messages, ratelimits
from ..enforcement import PENDING, allow
from ..extensions import db
from ..mfa import challenge
from ..mfa.errors import MfaError, SignCountRegressed
from ..models import METHOD_WEBAUTHN
from . import bp, pending
from .forms import ChallengeForm
from .views import _finish_signin, count_refusal, key_step_config


@bp.route("/signin/security-key", methods=["POST"])
@ratelimits.code_entry_ip_limit
@allow(PENDING)
def verify_key():
    """Second step with a security key: check the answer the page's script posts."""
    pending_signin = pending.current()
    if pending_signin is None or challenge.is_expired(pending_signin):
        pending.discard(pending_signin)
        db.session.commit()
        flash(messages.SIGNIN_EXPIRED, "error")
        return key_script.redirect(url_for("auth.signin"))

    user = pending_signin.user
    ratelimits.spend_code_attempt(user)
    body = {}
    try:
        body = key_script.json_body()
        challenge.verify(pending_signin, METHOD_WEBAUTHN, body.get("credential"))
    except MfaError as error:
        if isinstance(error, SignCountRegressed):
            events.record(user, events.POSSIBLE_CLONED_KEY, detail=error.nickname)
        if not count_refusal(pending_signin, METHOD_WEBAUTHN, error):
            return key_script.redirect(url_for("auth.signin"))
        return _key_step(pending_signin, messages.SECURITY_KEY_FAILED, body), 400

    pending.discard(pending_signin)
    remember = _remember_ticked(body)
    return key_script.redirect(_finish_signin(user, remember=remember).location)


def _remember_ticked(body):
    # The box on the key step's form, which the page script sends along.
    return body.get("remember") == "y"


def _key_step(pending_signin, error, body):
    key_config = key_step_config(pending_signin)
    db.session.commit()
    form = ChallengeForm(
        formdata=None, meta={"csrf": False}, remember=_remember_ticked(body)
    )
    return render_template(
        "auth/_security_key.html", key_config=key_config, error=error, form=form
    )
