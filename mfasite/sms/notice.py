"""The bar asking a user whose SMS number opted out to set up another method.

Whether to show it is decided at sign-in and again on each visit to the
Security page, and kept in the session cookie, so that ordinary pages cost no
query for it. A STOP or START texted while signed in shows on the next
sign-in or the next visit to the Security page, where the bar links to.
"""

from flask import session

from ..mfa import sms

SESSION_KEY = "sms_opted_out"


def refresh(user):
    """Decide again whether this session shows the bar."""
    show(sms.needs_other_method(user))


def show(needed):
    """Show the bar in this session from now on, or stop showing it."""
    if needed:
        session[SESSION_KEY] = True
    else:
        session.pop(SESSION_KEY, None)


def template_context():
    return {"sms_opted_out_bar": session.get(SESSION_KEY, False)}
