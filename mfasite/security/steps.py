"""Rendering enrollment steps as a dialog, a swapped fragment, or a full page."""

from functools import wraps

from flask import flash, render_template, request, url_for
from flask_login import current_user

from .. import key_script, sessions
from ..extensions import db
from ..htmx import is_htmx, redirect_to
from ..mfa import phone, sms, webauthn
from .forms import ReauthForm, SendCodeForm

# The element the Enroll buttons load a whole dialog into.
MODAL_ROOT = "modal-root"


def render_step(template, title, status=200, **context):
    """Render one step for however it was asked for.

    An Enroll button asks for the whole dialog, a form inside the dialog
    asks for the step alone, and a direct visit gets a full page.
    """
    context.update(step_template=template, step_title=title)
    if not is_htmx():
        return render_template("security/step_page.html", **context), status
    if request.headers.get("HX-Target") == MODAL_ROOT:
        return render_template("security/_dialog.html", **context), status
    # The dialog's title changes with the step: an out-of-band swap carries it.
    title_html = render_template("security/_dialog_title.html", oob=True, **context)
    return render_template(template, **context) + title_html, status


def finish(message, category="success"):
    """End a step flow: flash, then back to the Security page."""
    flash(message, category)
    return redirect_to(url_for("security.index"))


def fresh_auth_required(view):
    """Ask for the password (and a code) again when the last one is too old."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if sessions.recently_authenticated():
            return view(*args, **kwargs)
        form = ReauthForm(next=request.full_path.rstrip("?"))
        if request.method != "GET":
            form.next.data = url_for("security.index")
        return render_reauth(form)

    return wrapper


def textable_phone():
    """The user's active number, masked, when a code can be texted to it now."""
    device = sms.confirmed_device(current_user) if current_user.has_mfa else None
    return phone.masked(device.phone_e164) if device and sms.available() else None


def render_reauth(form, status=200, notice=None):
    """The re-authentication step, with "Send a code" for SMS and a key button."""
    sms_phone = textable_phone()

    key_config = None
    if webauthn.keys_of(current_user):
        options = webauthn.authentication_options(
            current_user, current_user.current_session
        )
        db.session.commit()
        key_config = key_script.config(
            "get", options, url_for("security.reauthenticate_with_key"), "modal-step"
        )

    return render_step(
        "security/_reauth.html",
        "Confirm it's you",
        status,
        form=form,
        sms_phone=sms_phone,
        send_form=SendCodeForm(next=form.next.data) if sms_phone else None,
        notice=notice,
        key_config=key_config,
    )
