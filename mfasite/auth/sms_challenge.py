"""The SMS branch of the sign-in challenge: the one text, and what the page says."""

from .. import messages
from ..mfa import phone, sms


def context(pending_signin, send):
    """What the challenge template needs; on a GET, text the code if not done yet.

    Only the first visit of a sign-in sends: a reload, the back button or a
    POST finds the message already claimed and sends nothing more.
    """
    outcome = sms.send_signin_code(pending_signin) if send else None
    if outcome is None:
        outcome = sms.signin_state(pending_signin)

    device = sms.confirmed_device(pending_signin.user)
    e164 = device.phone_e164 if device else None
    return {
        "code_sent": outcome is sms.Outcome.SENT,
        "prompt": messages.SMS_CODE_SENT.format(phone=phone.masked(e164))
        if e164
        else None,
        "notice": sms.describe(messages.SMS_SIGNIN_NOTICES, outcome, e164),
    }
