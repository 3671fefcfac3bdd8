"""Security events: shown to the user on the Security page and logged for operators."""

import logging

from flask import has_request_context, request

from .extensions import db
from .models import SecurityEvent

log = logging.getLogger(__name__)

SIGNIN = "signin"
SIGNIN_FAILED_PASSWORD = "signin_failed_password"
SECOND_FACTOR_FAILED = "second_factor_failed"
SIGNIN_ABANDONED = "signin_too_many_codes"
METHOD_ADDED = "method_added"
METHOD_REMOVED = "method_removed"
BACKUP_CODE_USED = "backup_code_used"
BACKUP_CODES_GENERATED = "backup_codes_generated"
MFA_RESET = "mfa_reset"
SIGNOUT = "signout"
SIGNOUT_EVERYWHERE = "signout_everywhere"
PASSWORD_CHANGED = "password_changed"
SIGNUP = "signup"
POSSIBLE_CLONED_KEY = "possible_cloned_key"
SMS_OPTED_OUT = "sms_opted_out"
SMS_OPTED_IN = "sms_opted_in"

# Details written for support, not for the user: a reset's reason may quote
# an internal ticket or note.
PRIVATE_DETAILS = frozenset({MFA_RESET})

DESCRIPTIONS = {
    SIGNIN: "Signed in",
    SIGNIN_FAILED_PASSWORD: "Wrong password entered",
    SECOND_FACTOR_FAILED: "Wrong verification code entered",
    SIGNIN_ABANDONED: "Sign-in stopped after too many wrong codes",
    METHOD_ADDED: "Sign-in method added",
    METHOD_REMOVED: "Sign-in method removed",
    BACKUP_CODE_USED: "Backup code used",
    BACKUP_CODES_GENERATED: "New backup codes created",
    MFA_RESET: "Multi-factor authentication reset by support",
    SIGNOUT: "Signed out",
    SIGNOUT_EVERYWHERE: "Signed out of every session",
    PASSWORD_CHANGED: "Password changed",
    SIGNUP: "Account created",
    POSSIBLE_CLONED_KEY: "Security key refused: it may have been cloned",
    SMS_OPTED_OUT: "Opted out of SMS",
    SMS_OPTED_IN: "Opted back in to SMS",
}


def client_ip():
    return request.remote_addr if has_request_context() else None


def record(user, kind, detail=None):
    """Store a security event for the user and log it (never with a secret)."""
    ip = client_ip()
    db.session.add(SecurityEvent(user_id=user.id, kind=kind, ip=ip, detail=detail))
    log.info(
        "security event %s user=%s ip=%s%s",
        kind,
        user.id,
        ip or "-",
        f" detail={detail}" if detail else "",
    )


def recent(user, limit=20):
    return db.session.scalars(
        db.select(SecurityEvent)
        .where(SecurityEvent.user_id == user.id)
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
        .limit(limit)
    ).all()
