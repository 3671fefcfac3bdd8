"""Server-side sessions behind Flask-Login: signing out really ends them."""

import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, request, session, url_for
from flask_login import current_user, login_user, logout_user

from . import clock, messages
from .extensions import db, login_manager
from .htmx import is_htmx, redirect_to
from .models import PendingSignIn, UserSession

log = logging.getLogger(__name__)

# The only thing a half-finished sign-in keeps in the cookie: an opaque id.
PENDING_SIGNIN_KEY = "pending_signin"
# Remembered across the sign-in so a user lands where they were going.
NEXT_URL_KEY = "next_url"

# Writing last-seen on every request would make each page a write.
_LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def new_token():
    return secrets.token_urlsafe(32)


def start(user, remember=False):
    """Sign the user in after every factor passed, in a brand-new session.

    remember keeps the session past the idle timeout; the remember cookie
    holds this session's id, so ending the session voids the cookie too.
    """
    next_url = session.get(NEXT_URL_KEY)
    flashes = session.get("_flashes")
    # Rotate: nothing from the pre-sign-in cookie carries over but its messages.
    session.clear()
    if flashes:
        session["_flashes"] = flashes

    user_session = UserSession(
        id=new_token(),
        user_id=user.id,
        ip=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:255],
        remembered=remember,
    )
    db.session.add(user_session)
    user.current_session = user_session

    login_user(user, remember=remember)
    return next_url


def _forget_browser():
    # Cleared first: logout_user then marks the remember cookie for deletion.
    session.clear()
    logout_user()


def end():
    """Sign out this browser: its server-side session is deleted."""
    if current_user.is_authenticated and current_user.current_session:
        db.session.delete(current_user.current_session)
    _forget_browser()


def end_all(user, keep=None):
    """End every session and half-finished sign-in of a user, except `keep`."""
    statement = db.delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    ended = db.session.execute(statement).rowcount
    db.session.execute(db.delete(PendingSignIn).where(PendingSignIn.user_id == user.id))
    return ended


def end_everywhere(user):
    """Sign out every browser of the user, this one included."""
    end_all(user)
    _forget_browser()


def _timed_out(user_session, now):
    config = current_app.config
    age = now - user_session.created_at
    if user_session.remembered:
        return age > timedelta(seconds=config["REMEMBER_LIFETIME"])
    idle = timedelta(seconds=config["SESSION_IDLE_TIMEOUT"])
    lifetime = timedelta(seconds=config["SESSION_ABSOLUTE_LIFETIME"])
    return now - user_session.last_seen_at > idle or age > lifetime


@login_manager.unauthorized_handler
def send_to_signin():
    """Ask for a sign-in; HTMX gets HX-Redirect, as it would swallow a 302."""
    flash(messages.SIGNIN_REQUIRED, "info")
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    if is_htmx():
        # Come back to the page the fragment was on, not to the fragment itself.
        next_path = urlsplit(request.headers.get("HX-Current-URL", "")).path or None
    return redirect_to(url_for("auth.signin", next=next_path), code=302)


@login_manager.user_loader
def load_user(session_id):
    """Load the user through their session row, ending it when it has timed out."""
    user_session = db.session.get(UserSession, session_id)
    if user_session is None:
        return None

    now = clock.now()
    if _timed_out(user_session, now):
        log.info("session timed out user=%s", user_session.user_id)
        db.session.delete(user_session)
        db.session.commit()
        return None

    if now - user_session.last_seen_at > _LAST_SEEN_RESOLUTION:
        user_session.last_seen_at = now
        db.session.commit()

    user = user_session.user
    user.current_session = user_session
    return user


def mark_reauthenticated():
    current_user.current_session.authenticated_at = clock.now()


def recently_authenticated():
    """True when the password was checked within the re-authentication window."""
    max_age = timedelta(seconds=current_app.config["REAUTH_MAX_AGE"])
    return clock.now() - current_user.current_session.authenticated_at <= max_age


def list_for(user):
    return db.session.scalars(
        db.select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.last_seen_at.desc())
    ).all()
