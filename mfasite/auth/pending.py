"""The half-finished sign-in: a database row, with only its id in the cookie."""

import logging
from datetime import timedelta

from flask import current_app, request, session

from .. import clock
from ..extensions import db
from ..models import PendingSignIn
from ..sessions import NEXT_URL_KEY, PENDING_SIGNIN_KEY, new_token

log = logging.getLogger(__name__)


def begin(user):
    """Store a pending sign-in after a correct password and point the cookie at it."""
    next_url = session.get(NEXT_URL_KEY)
    session.clear()

    ttl = timedelta(seconds=current_app.config["PENDING_SIGNIN_TTL"])
    pending = PendingSignIn(
        id=new_token(),
        user_id=user.id,
        expires_at=clock.now() + ttl,
        ip=request.remote_addr,
    )
    db.session.add(pending)

    session[PENDING_SIGNIN_KEY] = pending.id
    if next_url:
        session[NEXT_URL_KEY] = next_url
    return pending


def current():
    """Return the pending sign-in this cookie points at, or None."""
    pending_id = session.get(PENDING_SIGNIN_KEY)
    if not pending_id:
        return None
    return db.session.get(PendingSignIn, pending_id)


def discard(pending=None):
    """Forget the pending sign-in, in the cookie and in the database."""
    if pending is not None:
        db.session.execute(
            db.delete(PendingSignIn).where(PendingSignIn.id == pending.id)
        )
    session.pop(PENDING_SIGNIN_KEY, None)
