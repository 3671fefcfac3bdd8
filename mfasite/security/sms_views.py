"""SMS on the Password & Security page: enrollment, and a code to re-authenticate."""

import logging

from flask import url_for
from flask_login import current_user, login_required

from .. import messages, ratelimits
from ..enforcement import UNENROLLED, allow
from ..extensions import db
from ..mfa import phone, sms
from ..mfa.errors import MfaError, TooManyAttempts
from ..models import METHOD_SMS
from ..sms import notice as opt_out_bar
from . import bp, views
from .forms import (
    ChangePasswordForm,
    PhoneForm,
    ReauthForm,
    SendCodeForm,
    VerifyCodeForm,
)
from .steps import fresh_auth_required, render_reauth, render_step

log = logging.getLogger(__name__)

TITLE = "Set up text message codes"


def method_state(user, active):
    """How the SMS row of the Security page looks; also refreshes the opt-out bar."""
    # The row shows a number only for an active method: otherwise skip the query.
    device = sms.confirmed_device(user) if METHOD_SMS in active else None
    opted_out = device is not None and sms.is_opted_out(device.phone_e164)
    # sms.needs_other_method's rule, from the rows this page has read already.
    opt_out_bar.show(opted_out and active == [METHOD_SMS])
    return {
        "available": sms.available(),
        "opted_out": opted_out,
        "phone": phone.masked(device.phone_e164) if device else None,
    }


def _phone_step(form, status=200):
    return render_step(
        "security/_sms_phone.html",
        TITLE,
        status,
        form=form,
        program_name=sms.program_name(),
    )


def _verify_step(form, device, status=200):
    prompt = messages.SMS_CODE_SENT.format(phone=phone.masked(device.phone_e164))
    return render_step(
        "security/_sms_verify.html", TITLE, status, form=form, prompt=prompt
    )


def _restart(message, status=409):
    return render_step(
        "security/_restart.html",
        TITLE,
        status=status,
        message=message,
        restart_endpoint="security.enroll_sms",
    )


@bp.route("/sms", methods=["GET", "POST"])
@login_required
@allow(UNENROLLED)
@fresh_auth_required
def enroll_sms():
    """Text codes, step 1: the program's terms and the number; Continue texts a code."""
    if not sms.available():
        return _restart(messages.SMS_ENROLL_NOTICES["unavailable"], status=503)

    form = PhoneForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return _phone_step(form, status)

    ratelimits.spend_sms_send(current_user)
    outcome = sms.start_enrollment(current_user, form.e164)
    if outcome is not sms.Outcome.SENT:
        log.info(
            "sms enrollment not sent user=%s phone=%s outcome=%s",
            current_user.id,
            phone.for_log(form.e164),
            outcome.value,
        )
        form.phone.errors.append(
            sms.describe(messages.SMS_ENROLL_NOTICES, outcome, form.e164)
        )
        return _phone_step(form, 400)

    return _verify_step(VerifyCodeForm(formdata=None), sms.pending_device(current_user))


@bp.route("/sms/verify", methods=["GET", "POST"])
@ratelimits.code_entry_ip_limit
@login_required
@allow(UNENROLLED)
@fresh_auth_required
def verify_sms():
    """Text codes, step 2: the code from the text makes the number active."""
    device = sms.pending_device(current_user)
    if device is None or device.code_hmac is None:
        return _restart(messages.ENROLLMENT_NOT_STARTED)

    form = VerifyCodeForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return _verify_step(form, device, status)

    try:
        sms.confirm_enrollment(current_user, form.code.data)
    except MfaError as error:
        # Committed, not rolled back: the wrong entry counts towards the limit.
        db.session.commit()
        log.info(
            "sms enrollment code refused user=%s reason=%s",
            current_user.id,
            type(error).__name__,
        )
        if isinstance(error, TooManyAttempts):
            return _restart(messages.SMS_ENROLL_TOO_MANY, status=400)
        form.code.errors.append(messages.INVALID_CODE)
        return _verify_step(form, device, 400)

    return views.method_enrolled(METHOD_SMS)


def _text_reauth_code():
    """Text a re-authentication code; return the notice the step shows."""
    ratelimits.spend_sms_send(current_user)
    outcome = sms.send_reauth_code(current_user)
    device = sms.confirmed_device(current_user)
    if outcome is sms.Outcome.SENT:
        text = messages.SMS_CODE_SENT.format(phone=phone.masked(device.phone_e164))
        return ("success", text)

    log.info(
        "sms re-authentication code not sent user=%s outcome=%s",
        current_user.id,
        outcome.value,
    )
    e164 = device.phone_e164 if device else None
    return ("error", sms.describe(messages.SMS_REAUTH_NOTICES, outcome, e164))


@bp.route("/reauthenticate/sms", methods=["POST"])
@login_required
@allow(UNENROLLED)
def reauth_send_sms():
    """Text a code for the re-authentication step to the active number."""
    send_form = SendCodeForm()
    form = ReauthForm(formdata=None, next=send_form.next.data)
    if not send_form.validate_on_submit():
        form.next.data = url_for("security.index")
        return render_reauth(form, status=400)

    return render_reauth(form, notice=_text_reauth_code())


@bp.route("/password/sms", methods=["POST"])
@login_required
@allow(UNENROLLED)
def password_send_sms():
    """Text a code for the change-password step to the active number."""
    form = ChangePasswordForm(formdata=None)
    if not SendCodeForm().validate_on_submit():
        return views.password_step(form, status=400)

    return views.password_step(form, notice=_text_reauth_code())
