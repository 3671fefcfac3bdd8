"""The one before-request hook that decides: pass, nag, or send to enrollment."""

from flask import current_app, g, request, session, url_for
from flask_login import current_user

from .htmx import redirect_to
from .sessions import PENDING_SIGNIN_KEY

# Who may reach a view. Views that say nothing are for fully signed-in users.
PENDING = "pending"  # a half-finished sign-in (the challenge page)
UNENROLLED = "unenrolled"  # a blocked account without MFA (enrollment)
EXEMPT = "exempt"  # never redirected (static files, signed webhooks)


def allow(*states):
    """Let a view be reached in the given states as well as the normal one."""

    def decorate(view):
        view.mfa_access = frozenset(states)
        return view

    return decorate


def _redirect(endpoint):
    return redirect_to(url_for(endpoint), code=302)


def grace_left(user):
    """Sign-ins left before MFA is required (negative: already required)."""
    return current_app.config["MFA_GRACE_SIGNINS"] - user.signins_without_mfa


def enforce_mfa():
    """Before each request: keep pending sign-ins and unenrolled accounts in bounds."""
    view = current_app.view_functions.get(request.endpoint)
    if view is None or request.endpoint == "static":
        return None
    access = getattr(view, "mfa_access", frozenset())
    if EXEMPT in access:
        return None

    if PENDING_SIGNIN_KEY in session and not current_user.is_authenticated:
        return None if PENDING in access else _redirect("auth.challenge")

    # For an enrolled user this reads the row already loaded: no extra query.
    if not current_user.is_authenticated or current_user.has_mfa:
        return None

    left = grace_left(current_user)
    if left >= 0:
        g.mfa_nag_left = left
        return None
    g.mfa_blocked = True
    if UNENROLLED in access:
        return None
    return _redirect("security.index")
