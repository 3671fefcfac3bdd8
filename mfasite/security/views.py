"""Account settings > Your profile > Password & Security, and its enrollment steps."""

import logging
from urllib.parse import quote

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from .. import events, messages, passwords, ratelimits, sessions
from ..enforcement import UNENROLLED, allow
from ..extensions import db
from ..mfa import methods, recovery, sms, totp, webauthn
from ..mfa.errors import MfaError
from ..models import METHOD_SMS, METHOD_TOTP, METHOD_WEBAUTHN, METHODS
from . import bp, sms_views
from .forms import (
    ChangePasswordForm,
    ConfirmForm,
    ReauthForm,
    SendCodeForm,
    VerifyCodeForm,
)
from .steps import (
    finish,
    fresh_auth_required,
    render_reauth,
    render_step,
    textable_phone,
)

log = logging.getLogger(__name__)

# Endpoints that start each method's enrollment; the others come with their issues.
ENROLL_ENDPOINTS = {
    METHOD_TOTP: "security.enroll_totp",
    METHOD_SMS: "security.enroll_sms",
    METHOD_WEBAUTHN: "security.enroll_key",
}


@bp.route("")
@login_required
@allow(UNENROLLED)
def index():
    """The Password & Security page."""
    active, backup_codes_left = methods.active_methods_and_backup_codes(current_user)
    # Without the method there are no keys: no need to ask the database.
    keys = webauthn.keys_of(current_user) if METHOD_WEBAUTHN in active else []
    return render_template(
        "security/index.html",
        methods=METHODS,
        active=active,
        sms_state=sms_views.method_state(current_user, active),
        labels=methods.LABELS,
        enroll_endpoints=ENROLL_ENDPOINTS,
        backup_codes_left=backup_codes_left if active else None,
        security_keys=keys,
        events=events.recent(current_user),
        descriptions=events.DESCRIPTIONS,
        private_details=events.PRIVATE_DETAILS,
        user_sessions=sessions.list_for(current_user),
        allow_multiple=current_app.config["MFA_ALLOW_MULTIPLE"],
        form=ConfirmForm(),
    )


@bp.route("/reauthenticate", methods=["POST"])
@ratelimits.code_entry_ip_limit
@ratelimits.password_failure_limit
@login_required
@allow(UNENROLLED)
def reauthenticate():
    """Check the password (and a current code) again before an MFA change."""
    form = ReauthForm()
    if not form.validate_on_submit() or not _identity_ok(
        form.password.data, form.code.data
    ):
        # Keeps the count of wrong SMS codes; nothing else was written.
        db.session.commit()
        form.password.errors.append(messages.REAUTH_FAILED)
        return render_reauth(form, status=400)

    sessions.mark_reauthenticated()
    db.session.commit()
    return _redirect_within_security(form.next.data)


def _identity_ok(password, code):
    """Check the password, and a current code when the user has MFA."""
    user = current_user
    if not passwords.verify_password(user, password):
        ratelimits.password_failed()
        return False
    if not user.has_mfa:
        return True

    ratelimits.spend_code_attempt(user)
    device = totp.confirmed_device(user)
    six_digits = len(totp.normalize(code)) == 6
    try:
        if six_digits and sms.reauth_code_outstanding(user):
            # A user who asked for a text means the code it carried.
            sms.verify_reauth_code(user, code)
        elif device is not None and six_digits:
            totp.verify(device, code)
        else:
            recovery.consume(user, code)
    except MfaError as error:
        log.info("re-authentication refused user=%s reason=%s", user.id, error)
        return False
    return True


def _redirect_within_security(target):
    index = url_for("security.index")
    if not (target or "").startswith(index) or "//" in target or "\\" in target:
        target = index
    return redirect(target, 303)


@bp.route("/authenticator")
@login_required
@allow(UNENROLLED)
@fresh_auth_required
def enroll_totp():
    """Authenticator app, step 1: a new secret as a QR code and as text."""
    # Read before the commit, which expires the user and would reload the row.
    email = current_user.email
    device = totp.start_enrollment(current_user)
    secret = totp.secret_of(device)
    db.session.commit()

    site_name = current_app.config["SITE_NAME"]
    uri = totp.provisioning_uri(secret, email, site_name)
    return render_step(
        "security/_totp_qr.html",
        "Set up an authenticator app",
        qr_svg=totp.qr_svg(uri),
        secret=secret,
        label=f"{site_name}: {email}",
    )


@bp.route("/authenticator/verify", methods=["GET", "POST"])
@ratelimits.code_entry_ip_limit
@login_required
@allow(UNENROLLED)
@fresh_auth_required
def verify_totp():
    """Authenticator app, step 2: the first code proves the app is set up."""
    if totp.pending_device(current_user) is None:
        return render_step(
            "security/_restart.html",
            "Set up an authenticator app",
            status=409,
            message=messages.ENROLLMENT_NOT_STARTED,
            restart_endpoint="security.enroll_totp",
        )

    form = VerifyCodeForm()
    title = "Set up an authenticator app"
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_step("security/_totp_verify.html", title, status, form=form)

    try:
        totp.confirm_enrollment(current_user, form.code.data)
    except MfaError as error:
        db.session.rollback()
        log.info(
            "authenticator enrollment code refused user=%s reason=%s",
            current_user.id,
            type(error).__name__,
        )
        form.code.errors.append(messages.INVALID_CODE)
        return render_step("security/_totp_verify.html", title, 400, form=form)

    return method_enrolled(METHOD_TOTP)


def method_enrolled(method):
    """After a method is verified: apply the policy, then backup codes or done."""
    replaced = methods.activate(current_user, method)
    label = methods.LABELS[method]
    events.record(current_user, events.METHOD_ADDED, detail=label)
    for old in replaced:
        events.record(
            current_user,
            events.METHOD_REMOVED,
            detail=f"{methods.LABELS[old]} (replaced)",
        )
    # Sessions opened before this method (or with the one it replaced) end.
    sessions.end_all(current_user, keep=current_user.current_session)

    if recovery.remaining(current_user) == 0:
        codes = recovery.generate(current_user, current_app.config["BACKUP_CODE_COUNT"])
        events.record(current_user, events.BACKUP_CODES_GENERATED)
        db.session.commit()
        return _show_backup_codes(codes, messages.METHOD_ENABLED.format(label=label))

    db.session.commit()
    return finish(messages.METHOD_ENABLED.format(label=label))


def _show_backup_codes(codes, intro=None):
    text = "\n".join(codes) + "\n"
    return render_step(
        "security/_backup_codes.html",
        "Save your backup codes",
        codes=codes,
        intro=intro,
        download_href="data:text/plain;charset=utf-8," + quote(text),
        form=ConfirmForm(),
    )


@bp.route("/backup-codes", methods=["GET", "POST"])
@login_required
@fresh_auth_required
def regenerate_backup_codes():
    """Create a new set of backup codes; the old set stops working."""
    if not current_user.has_mfa:
        abort(404)

    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_step(
            "security/_backup_confirm.html", "Create new backup codes", form=form
        )

    codes = recovery.generate(current_user, current_app.config["BACKUP_CODE_COUNT"])
    events.record(current_user, events.BACKUP_CODES_GENERATED)
    db.session.commit()
    return _show_backup_codes(codes, messages.BACKUP_CODES_REGENERATED)


@bp.route("/backup-codes/saved", methods=["POST"])
@login_required
def backup_codes_saved():
    """The user confirmed the codes are stored: close the dialog."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    return finish("Your backup codes are ready if you ever need them.")


@bp.route("/methods/<method>")
@login_required
def manage_method(method):
    """The Manage dialog of an active method: set it up again or remove it."""
    active = methods.active_methods(current_user)
    if method not in active:
        abort(404)

    return render_step(
        "security/_manage.html",
        methods.LABELS[method],
        method=method,
        enroll_endpoint=ENROLL_ENDPOINTS.get(method),
        removable=methods.can_remove(current_user, method, active),
        preferred=active[0] == method,
        allow_multiple=current_app.config["MFA_ALLOW_MULTIPLE"],
    )


@bp.route("/methods/<method>/remove", methods=["GET", "POST"])
@login_required
@fresh_auth_required
def remove_method(method):
    """Remove a method, if another one remains."""
    if method not in METHODS:
        abort(404)
    label = methods.LABELS[method]

    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_step(
            "security/_remove_confirm.html",
            f"Remove {label}",
            form=form,
            method=method,
            label=label,
            removable=methods.can_remove(current_user, method),
        )

    if not methods.remove(current_user, method):
        return finish(messages.METHOD_NOT_REMOVABLE, "error")
    events.record(current_user, events.METHOD_REMOVED, detail=label)
    sessions.end_all(current_user, keep=current_user.current_session)
    db.session.commit()
    return finish(messages.METHOD_REMOVED.format(label=label))


@bp.route("/methods/<method>/prefer", methods=["POST"])
@login_required
def prefer_method(method):
    """Use this method first at sign-in (when several are allowed)."""
    form = ConfirmForm()
    if method not in METHODS or not form.validate_on_submit():
        abort(400)
    if methods.set_preferred(current_user, method):
        db.session.commit()
    return finish(messages.PREFERRED_SET.format(label=methods.LABELS[method]))


@bp.route("/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    """Sign out every other browser signed in to this account."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    sessions.end_all(current_user, keep=current_user.current_session)
    events.record(current_user, events.SIGNOUT_EVERYWHERE)
    db.session.commit()
    return finish(messages.OTHER_SESSIONS_ENDED)


@bp.route("/sessions/end-all", methods=["POST"])
@login_required
@allow(UNENROLLED)
def end_all_sessions():
    """Sign out every browser signed in to this account, this one included."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    events.record(current_user, events.SIGNOUT_EVERYWHERE)
    sessions.end_everywhere(current_user)
    db.session.commit()
    flash(messages.SIGNED_OUT_EVERYWHERE, "info")
    return redirect(url_for("auth.signin"), 303)


@bp.route("/password", methods=["GET", "POST"])
@ratelimits.code_entry_ip_limit
@ratelimits.password_failure_limit
@login_required
@allow(UNENROLLED)
def change_password():
    """Change the password: the current one and a code first; other sessions end."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return password_step(form, 400 if form.is_submitted() else 200)

    # Compared before the code is checked, so a refusal never spends a code.
    if form.new_password.data == form.current_password.data:
        form.new_password.errors.append(messages.PASSWORD_UNCHANGED)
        return password_step(form, 400)
    if not _identity_ok(form.current_password.data, form.code.data):
        # Keeps the count of wrong SMS codes; nothing else was written.
        db.session.commit()
        form.current_password.errors.append(messages.REAUTH_FAILED)
        return password_step(form, 400)

    current_user.password_hash = passwords.hash_password(form.new_password.data)
    events.record(current_user, events.PASSWORD_CHANGED)
    sessions.end_all(current_user, keep=current_user.current_session)
    sessions.mark_reauthenticated()
    db.session.commit()
    return finish(messages.PASSWORD_CHANGED)


def password_step(form, status=200, notice=None):
    """The change-password step, with "Send a code" for a user with SMS."""
    sms_phone = textable_phone()
    return render_step(
        "security/_password.html",
        "Change your password",
        status,
        form=form,
        sms_phone=sms_phone,
        send_form=SendCodeForm() if sms_phone else None,
        notice=notice,
    )
