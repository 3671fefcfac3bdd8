"""Security keys on the Password & Security page: add, rename, remove, re-auth."""

import logging

from flask import abort, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from .. import events, key_script, messages, passwords, ratelimits, sessions
from ..enforcement import UNENROLLED, allow
from ..extensions import db
from ..mfa import methods, webauthn
from ..mfa.errors import InvalidResponse, MfaError, SignCountRegressed
from ..models import METHOD_WEBAUTHN
from . import bp
from .forms import ConfirmForm, KeyNicknameForm, ReauthForm
from .steps import finish, fresh_auth_required, render_reauth, render_step
from .views import _redirect_within_security, method_enrolled

log = logging.getLogger(__name__)

ENROLL_TITLE = "Add a security key"


def _posted_form(form_class, body, names):
    """A form filled from the script's JSON; its CSRF header was already checked."""
    values = {name: body.get(name) for name in names}
    data = MultiDict({k: v for k, v in values.items() if isinstance(v, str)})
    return form_class(formdata=data, meta={"csrf": False})


def _key_label(key):
    return f"{methods.LABELS[METHOD_WEBAUTHN]} “{key.nickname}”"


@bp.route("/security-key")
@login_required
@allow(UNENROLLED)
@fresh_auth_required
def enroll_key():
    """Security key: explain, ask for a nickname, give the browser its options."""
    form = KeyNicknameForm(nickname=webauthn.default_nickname(current_user))
    return _enroll_step(form)


@bp.route("/security-key", methods=["POST"])
@login_required
@allow(UNENROLLED)
@fresh_auth_required
def register_key():
    """Security key: check the new key's answer the script posts, then store it."""
    user = current_user
    try:
        body = key_script.json_body()
    except InvalidResponse as error:
        form = KeyNicknameForm(
            formdata=None,
            meta={"csrf": False},
            nickname=webauthn.default_nickname(user),
        )
        return _refuse_registration(form, error)

    form = _posted_form(KeyNicknameForm, body, ["nickname"])
    if not form.validate():
        return _enroll_step(form, 400)
    if webauthn.nickname_taken(user, form.nickname.data):
        form.nickname.errors.append(messages.KEY_NICKNAME_TAKEN)
        return _enroll_step(form, 400)

    first_key = not webauthn.keys_of(user)
    try:
        key = webauthn.register(
            user, user.current_session, body.get("credential"), form.nickname.data
        )
    except MfaError as error:
        return _refuse_registration(form, error)

    if first_key:
        return method_enrolled(METHOD_WEBAUTHN)
    events.record(user, events.METHOD_ADDED, detail=_key_label(key))
    db.session.commit()
    return finish(messages.KEY_ADDED.format(nickname=key.nickname))


def _refuse_registration(form, error):
    db.session.rollback()
    log.info(
        "security key registration refused user=%s reason=%s detail=%r",
        current_user.id,
        type(error).__name__,
        str(error),
    )
    return _enroll_step(form, 400, error=messages.SECURITY_KEY_FAILED)


def _enroll_step(form, status=200, error=None):
    options = webauthn.registration_options(current_user, current_user.current_session)
    db.session.commit()
    key_config = key_script.config(
        "create", options, url_for("security.register_key"), "modal-step"
    )
    return render_step(
        "security/_key_enroll.html",
        ENROLL_TITLE,
        status,
        form=form,
        key_config=key_config,
        error=error,
    )


def _own_key(key_id):
    key = webauthn.key_of(current_user, key_id)
    if key is None:
        abort(404)
    return key


@bp.route("/security-keys/<int:key_id>/rename", methods=["GET", "POST"])
@login_required
@fresh_auth_required
def rename_key(key_id):
    """Give one of the user's security keys a new nickname."""
    key = _own_key(key_id)
    form = KeyNicknameForm(nickname=key.nickname)
    title = f"Rename “{key.nickname}”"

    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_step(
            "security/_key_rename.html", title, status, form=form, key=key
        )
    if webauthn.nickname_taken(current_user, form.nickname.data, except_key=key):
        form.nickname.errors.append(messages.KEY_NICKNAME_TAKEN)
        return render_step("security/_key_rename.html", title, 400, form=form, key=key)

    key.nickname = form.nickname.data
    db.session.commit()
    return finish(messages.KEY_RENAMED.format(nickname=key.nickname))


@bp.route("/security-keys/<int:key_id>/remove", methods=["GET", "POST"])
@login_required
@fresh_auth_required
def remove_key(key_id):
    """Remove one security key; the last one only if another method remains."""
    key = _own_key(key_id)
    nickname = key.nickname

    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_step(
            "security/_remove_confirm.html",
            f"Remove “{nickname}”",
            form=form,
            action=url_for("security.remove_key", key_id=key.id),
            what=f"the security key “{nickname}”",
            removable=webauthn.can_remove(current_user, key),
        )

    label = _key_label(key)
    if not webauthn.remove(current_user, key):
        return finish(messages.METHOD_NOT_REMOVABLE, "error")
    events.record(current_user, events.METHOD_REMOVED, detail=label)
    sessions.end_all(current_user, keep=current_user.current_session)
    db.session.commit()
    return finish(messages.KEY_REMOVED.format(nickname=nickname))


@bp.route("/reauthenticate/security-key", methods=["POST"])
@ratelimits.code_entry_ip_limit
@ratelimits.password_failure_limit
@login_required
def reauthenticate_with_key():
    """Re-authenticate with the password and a security key instead of a code."""
    user = current_user
    form = ReauthForm(formdata=None, meta={"csrf": False})
    refusal = None
    try:
        body = key_script.json_body()
        form = _posted_form(ReauthForm, body, ["password", "next"])
        if passwords.verify_password(user, form.password.data or ""):
            ratelimits.spend_code_attempt(user)
            webauthn.authenticate(user, user.current_session, body.get("credential"))
        else:
            ratelimits.password_failed()
            refusal = "wrong password"
    except MfaError as error:
        if isinstance(error, SignCountRegressed):
            events.record(user, events.POSSIBLE_CLONED_KEY, detail=error.nickname)
        refusal = f"{type(error).__name__}: {error}"

    if refusal:
        log.info("re-authentication refused user=%s reason=%r", user.id, refusal)
        form.password.errors = [messages.REAUTH_FAILED]
        return render_reauth(form, 400)

    sessions.mark_reauthenticated()
    db.session.commit()
    return _redirect_within_security(form.next.data)
