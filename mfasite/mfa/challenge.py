"""Second-factor checks at sign-in, one per method, behind a single entry point."""

from .. import clock
from ..extensions import db
from ..models import METHOD_SMS, METHOD_TOTP, METHOD_WEBAUTHN, PendingSignIn
from . import recovery, sms, totp, webauthn
from .errors import MethodUnavailable

BACKUP = "backup"


def _verify_totp(pending, response):
    device = totp.confirmed_device(pending.user)
    if device is None:
        raise MethodUnavailable("no authenticator app enrolled")
    totp.verify(device, response)


def _verify_webauthn(pending, response):
    return webauthn.authenticate(pending.user, pending, response)


def _verify_backup(pending, response):
    return recovery.consume(pending.user, response)


# Each verifier raises an MfaError or returns a detail for the caller.
VERIFIERS = {
    METHOD_TOTP: _verify_totp,
    METHOD_SMS: sms.verify_signin_code,
    # The answer here is the JSON a security key gave, posted by the page script.
    METHOD_WEBAUTHN: _verify_webauthn,
    BACKUP: _verify_backup,
}


def verify(pending, method, response):
    """Check a second factor for a pending sign-in; raise MfaError when refused."""
    verifier = VERIFIERS.get(method)
    if verifier is None:
        raise MethodUnavailable(f"unknown method {method!r}")
    return verifier(pending, response)


def is_expired(pending):
    return pending.expires_at <= clock.now()


def record_failure(pending, max_attempts):
    """Count a wrong code atomically; return attempts left (0 ends the sign-in)."""
    db.session.execute(
        db.update(PendingSignIn)
        .where(PendingSignIn.id == pending.id)
        .values(failed_attempts=PendingSignIn.failed_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    attempts = db.session.scalar(
        db.select(PendingSignIn.failed_attempts).where(PendingSignIn.id == pending.id)
    )
    left = max_attempts - (attempts or max_attempts)
    if left <= 0:
        db.session.execute(
            db.delete(PendingSignIn).where(PendingSignIn.id == pending.id)
        )
        return 0
    return left
