"""Backup codes: shown once, stored as HMACs, each accepted once."""

import secrets

from sqlalchemy import func, update

from .. import clock
from ..extensions import db
from ..models import RecoveryCode
from . import crypto
from .errors import InvalidCode

# No 0/o, 1/l/i: codes get read off paper and typed back.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUP = 4


def normalize(code):
    """Ignore case, spaces and dashes."""
    return "".join(ch for ch in (code or "").lower() if ch not in " -\t")


def _new_code():
    raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUP * 2))
    return f"{raw[:GROUP]}-{raw[GROUP:]}"


def generate(user, count):
    """Replace the user's backup codes with a new set and return them in clear."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))

    codes = [_new_code() for _ in range(count)]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hmac=crypto.code_hmac(normalize(code)))
        for code in codes
    )
    return codes


def consume(user, code):
    """Use up one backup code and return how many are left.

    A conditional UPDATE marks the code used, so two simultaneous uses of
    the same code give one success.
    """
    code = normalize(code)
    if len(code) != GROUP * 2:
        raise InvalidCode("not a backup code")

    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hmac == crypto.code_hmac(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidCode("no unused backup code matches")
    return remaining(user)


def unused_count(user):
    """The query counting the user's unused backup codes, to run or to embed."""
    return (
        db.select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def remaining(user):
    """Count the user's unused backup codes."""
    return db.session.scalar(unused_count(user))
