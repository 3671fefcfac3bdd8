"""Which methods a user has, and the one-method-at-a-time policy."""

from flask import current_app

from .. import clock
from ..extensions import db
from ..models import (
    METHOD_SMS,
    METHOD_TOTP,
    METHOD_WEBAUTHN,
    METHODS,
    PendingSignIn,
    RecoveryCode,
    SmsDevice,
    TotpDevice,
    WebAuthnCredential,
)
from . import recovery

_CONFIRMED_ROWS = {
    METHOD_TOTP: (TotpDevice, TotpDevice.confirmed_at.is_not(None)),
    METHOD_SMS: (SmsDevice, SmsDevice.confirmed_at.is_not(None)),
    METHOD_WEBAUTHN: (WebAuthnCredential, None),
}

LABELS = {
    METHOD_SMS: "SMS code",
    METHOD_TOTP: "Authenticator app",
    METHOD_WEBAUTHN: "Security key",
}
# How the challenge page offers a switch: "Use <this> instead".
SWITCH_LABELS = {
    METHOD_SMS: "a text message code",
    METHOD_TOTP: "your authenticator app",
    METHOD_WEBAUTHN: "a security key",
}


def _rows_query(method, user):
    model, confirmed = _CONFIRMED_ROWS[method]
    query = db.select(model.id).where(model.user_id == user.id)
    return query.where(confirmed) if confirmed is not None else query


def _confirmed_flags(user):
    return [_rows_query(method, user).exists() for method in METHODS]


def active_methods(user):
    """Return the user's confirmed methods, preferred first."""
    # One round trip: an EXISTS per method.
    flags = db.session.execute(db.select(*_confirmed_flags(user))).one()
    return _preferred_first(user, flags)


def active_methods_and_backup_codes(user):
    """Return active_methods(user) and the unused backup codes, in one round trip."""
    row = db.session.execute(
        db.select(
            *_confirmed_flags(user), recovery.unused_count(user).scalar_subquery()
        )
    ).one()
    return _preferred_first(user, row[:-1]), row[-1]


def _preferred_first(user, flags):
    found = {method for method, present in zip(METHODS, flags, strict=True) if present}

    ordered = sorted(found, key=METHODS.index)
    if user.preferred_method in found:
        ordered.remove(user.preferred_method)
        ordered.insert(0, user.preferred_method)
    return ordered


def _delete_method(user, method):
    model, confirmed = _CONFIRMED_ROWS[method]
    statement = db.delete(model).where(model.user_id == user.id)
    if confirmed is not None:
        statement = statement.where(confirmed)
    return db.session.execute(statement).rowcount > 0


def device_of(model, user, confirmed):
    """The user's confirmed (or still enrolling) device of an SMS or TOTP table."""
    state = (
        model.confirmed_at.is_not(None) if confirmed else model.confirmed_at.is_(None)
    )
    return db.session.scalar(db.select(model).where(model.user_id == user.id, state))


def confirm_device(device):
    """Mark a newly verified device confirmed and drop the one it replaces."""
    model = type(device)
    db.session.execute(
        db.delete(model).where(
            model.user_id == device.user_id,
            model.confirmed_at.is_not(None),
            model.id != device.id,
        )
    )
    device.confirmed_at = clock.now()
    return device


def activate(user, method):
    """Record that a method was verified, applying the one-method policy.

    Called only after the new method is confirmed, so the user is never
    left without one. Returns the methods the new one replaced.
    """
    replaced = []
    if not current_app.config["MFA_ALLOW_MULTIPLE"]:
        replaced = [
            other
            for other in METHODS
            if other != method and _delete_method(user, other)
        ]
        user.preferred_method = method
    elif user.preferred_method is None:
        user.preferred_method = method
    return replaced


def can_remove(user, method, active=None):
    """A method can go only if another remains: every account must have MFA."""
    active = active if active is not None else active_methods(user)
    return method in active and len(active) > 1


def remove(user, method):
    """Remove a method the user can do without and fix the preferred one."""
    active = active_methods(user)
    if not can_remove(user, method, active):
        return False

    _delete_method(user, method)
    if user.preferred_method == method:
        user.preferred_method = next(m for m in active if m != method)
    return True


def set_preferred(user, method):
    if method in active_methods(user):
        user.preferred_method = method
        return True
    return False


def reset(user):
    """Remove every method, enrollment in progress and backup code of a user."""
    for model in (TotpDevice, SmsDevice, WebAuthnCredential, RecoveryCode):
        db.session.execute(db.delete(model).where(model.user_id == user.id))
    db.session.execute(db.delete(PendingSignIn).where(PendingSignIn.user_id == user.id))

    user.preferred_method = None
    # No more grace: the next sign-in goes straight to enrollment.
    user.signins_without_mfa = current_app.config["MFA_GRACE_SIGNINS"]
