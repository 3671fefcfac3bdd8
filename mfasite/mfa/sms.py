"""SMS codes: sent under the program's rules, checked once, and opt-outs honoured.

The program promises at most one message per sign-in, and a number that
replied STOP gets nothing until it replies START. Every send first asks
`_refusal` (no sender, opted out, hourly cap), then `_store_and_send`.
"""

import enum
import hmac
import logging
import secrets
from datetime import timedelta

from flask import current_app, render_template
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import clock, events, messages
from ..extensions import db
from ..models import (
    METHOD_SMS,
    PendingSignIn,
    SmsDevice,
    SmsInbound,
    SmsOptOut,
    SmsSend,
    User,
)
from ..sms import senders
from . import crypto, methods, phone
from .errors import (
    CodeExpired,
    CodeReplayed,
    EnrollmentNotStarted,
    InvalidCode,
    MethodUnavailable,
    TooManyAttempts,
)

log = logging.getLogger(__name__)

CAP_WINDOW = timedelta(hours=1)


class Outcome(enum.Enum):
    """What happened to a code we meant to text."""

    SENT = "sent"
    OPTED_OUT = "opted_out"  # the number had replied STOP: nothing was sent
    UNSUBSCRIBED = "unsubscribed"  # Twilio refused: the number opted out (21610)
    INVALID_NUMBER = "invalid_number"  # Twilio: not a valid phone number (21211)
    NOT_MOBILE = "not_mobile"  # Twilio: not a mobile number (21614)
    FAILED = "failed"  # timeout, connection error or a Twilio failure
    CAPPED = "capped"  # the number's hourly cap was reached: nothing was sent
    UNAVAILABLE = "unavailable"  # this site has no SMS sender


_OUTCOME_OF_ERROR = {
    senders.RecipientOptedOut: Outcome.UNSUBSCRIBED,
    senders.InvalidRecipient: Outcome.INVALID_NUMBER,
    senders.NotMobile: Outcome.NOT_MOBILE,
}


def available():
    return senders.current() is not None


def new_code():
    """Six digits from the system's secure random source, leading zeros kept."""
    return f"{secrets.randbelow(10**6):06d}"


def normalize(code):
    return "".join(ch for ch in (code or "") if ch not in " -\t")


def _code_ttl():
    return timedelta(seconds=current_app.config["SMS_CODE_TTL"])


def program_name():
    config = current_app.config
    return config["SMS_PROGRAM_NAME"] or f"{config['SITE_NAME']} sign-in codes"


def program_number():
    """The number people text START or HELP to, as they would write it, or None."""
    config = current_app.config
    number = config["SMS_PROGRAM_NUMBER"] or config["TWILIO_FROM_NUMBER"]
    return phone.national(number) if number else None


def describe(table, outcome, e164):
    """The words from `table` (in messages) for an Outcome other than SENT, or None."""
    if outcome is None or outcome is Outcome.SENT:
        return None
    number = program_number() or messages.SMS_UNKNOWN_PROGRAM_NUMBER
    masked = phone.masked(e164) if e164 else ""
    return table[outcome.value].format(number=number, phone=masked)


# Opt-out ------------------------------------------------------------------


def is_opted_out(e164):
    return db.session.get(SmsOptOut, e164) is not None


def _insert_once(model, **values):
    """INSERT a row unless its key exists; True when this call added it.

    ON CONFLICT DO NOTHING makes two simultaneous inserts give one row and
    no error, on SQLite and on PostgreSQL alike.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    key = model.__mapper__.primary_key[0]
    # RETURNING, not rowcount: psycopg reports no row count for this statement.
    statement = insert(model).values(**values).on_conflict_do_nothing()
    return db.session.execute(statement.returning(key)).first() is not None


def opt_out(e164):
    """Stop every text to a number; return False when it was already opted out."""
    if not _insert_once(SmsOptOut, phone_e164=e164, opted_out_at=clock.now()):
        return False

    log.info("sms number opted out phone=%s", phone.for_log(e164))
    _record_for_owners(e164, events.SMS_OPTED_OUT)
    return True


def opt_in(e164):
    """Allow texts to a number again; return False when it was not opted out."""
    result = db.session.execute(
        db.delete(SmsOptOut).where(SmsOptOut.phone_e164 == e164)
    )
    if result.rowcount == 0:
        return False

    log.info("sms number opted back in phone=%s", phone.for_log(e164))
    _record_for_owners(e164, events.SMS_OPTED_IN)
    return True


def first_delivery(message_sid):
    """Record an inbound message; False when Twilio already delivered it."""
    return _insert_once(SmsInbound, message_sid=message_sid, received_at=clock.now())


def _record_for_owners(e164, kind):
    owners = db.session.scalars(
        db.select(User)
        .join(SmsDevice, SmsDevice.user_id == User.id)
        .where(SmsDevice.phone_e164 == e164, SmsDevice.confirmed_at.is_not(None))
    ).all()
    for user in owners:
        events.record(user, kind)


def needs_other_method(user):
    """True when the user's only method is SMS to a number that opted out."""
    # Checked at sign-in and on the Security page, never on every request.
    if user.preferred_method != METHOD_SMS:
        return False
    device = confirmed_device(user)
    if device is None or not is_opted_out(device.phone_e164):
        return False
    return methods.active_methods(user) == [METHOD_SMS]


# Sending ------------------------------------------------------------------


def _sends_last_hour(e164):
    return db.session.scalar(
        db.select(func.count())
        .select_from(SmsSend)
        .where(SmsSend.phone_e164 == e164, SmsSend.sent_at > clock.now() - CAP_WINDOW)
    )


def _refusal(e164):
    """Why a code may not be texted to this number now, or None."""
    if not available():
        return Outcome.UNAVAILABLE
    if is_opted_out(e164):
        log.info("sms not sent: opted out phone=%s", phone.for_log(e164))
        return Outcome.OPTED_OUT
    if _sends_last_hour(e164) >= current_app.config["SMS_HOURLY_CAP_PER_NUMBER"]:
        log.info("sms not sent: hourly cap reached phone=%s", phone.for_log(e164))
        return Outcome.CAPPED
    return None


def _record_send(e164):
    """Count a send against the number's cap, and forget sends past the window."""
    now = clock.now()
    db.session.execute(
        db.delete(SmsSend).where(
            SmsSend.phone_e164 == e164, SmsSend.sent_at <= now - CAP_WINDOW
        )
    )
    db.session.add(SmsSend(phone_e164=e164, sent_at=now))


def _deliver(e164, code):
    """Hand the message to the sender; turn its refusal into an Outcome."""
    body = render_template(
        "sms/code.txt", site_name=current_app.config["SITE_NAME"], code=code
    )
    try:
        senders.current().send(e164, body)
    except senders.SendError as error:
        outcome = _OUTCOME_OF_ERROR.get(type(error), Outcome.FAILED)
        if outcome is Outcome.UNSUBSCRIBED:
            opt_out(e164)
        return outcome
    return Outcome.SENT


def _store_and_send(e164, store_code, forget_code):
    """Store a new code's HMAC, commit, then text the code; return the Outcome.

    Callers check `_refusal` first. The row is committed before the slow
    call to the sender, so a second request sees the send already made and
    no lock is held meanwhile. `store_code(digest, expires_at)` returns
    False when this request must not send after all.
    """
    code = new_code()
    if not store_code(crypto.code_hmac(code), clock.now() + _code_ttl()):
        return None
    _record_send(e164)
    db.session.commit()

    outcome = _deliver(e164, code)
    if outcome is not Outcome.SENT:
        forget_code()
    db.session.commit()
    return outcome


# Checking -----------------------------------------------------------------


def _matches(stored, code):
    code = normalize(code)
    if len(code) != 6 or not code.isdigit() or stored is None:
        return False
    return hmac.compare_digest(stored, crypto.code_hmac(code))


def _use_once(model, column, row_id, stored):
    """Clear a matched code in one conditional UPDATE, so it works only once."""
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, column == stored)
        .values({column.key: None})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise CodeReplayed("code already used")


# Sign-in ------------------------------------------------------------------


def confirmed_device(user):
    return methods.device_of(SmsDevice, user, confirmed=True)


def pending_device(user):
    return methods.device_of(SmsDevice, user, confirmed=False)


def send_signin_code(pending):
    """Text the one code a pending sign-in may have.

    Return the Outcome, or None when this sign-in already had its message
    (a reload, the back button, a second tab): nothing more is sent.
    """
    if pending.sms_sent_at is not None:
        return None
    device = confirmed_device(pending.user)
    if device is None:
        return Outcome.UNAVAILABLE

    def store_code(digest, expires_at):
        # Claims the sign-in's one message: only one request can set sms_sent_at.
        claimed = db.session.execute(
            update(PendingSignIn)
            .where(PendingSignIn.id == pending.id, PendingSignIn.sms_sent_at.is_(None))
            .values(
                sms_sent_at=clock.now(),
                sms_code_hmac=digest,
                sms_code_expires_at=expires_at,
            )
            .execution_options(synchronize_session=False)
        )
        return claimed.rowcount == 1

    def forget_code():
        db.session.execute(
            update(PendingSignIn)
            .where(PendingSignIn.id == pending.id)
            .values(sms_code_hmac=None)
            .execution_options(synchronize_session=False)
        )

    outcome = _refusal(device.phone_e164) or _store_and_send(
        device.phone_e164, store_code, forget_code
    )
    db.session.refresh(pending)
    return outcome


def signin_state(pending):
    """What the challenge page says when it sends nothing: the last outcome known."""
    device = confirmed_device(pending.user)
    if device is None or not available():
        return Outcome.UNAVAILABLE
    if pending.sms_code_hmac is not None:
        return Outcome.SENT
    if is_opted_out(device.phone_e164):
        return Outcome.OPTED_OUT
    return Outcome.FAILED if pending.sms_sent_at is not None else None


def verify_signin_code(pending, code):
    """Accept the code texted for this sign-in, once and before it expires."""
    if pending.sms_code_hmac is None:
        raise MethodUnavailable("no code was sent for this sign-in")
    if pending.sms_code_expires_at <= clock.now():
        raise CodeExpired("sign-in code expired")
    if not _matches(pending.sms_code_hmac, code):
        raise InvalidCode("code does not match")
    _use_once(
        PendingSignIn, PendingSignIn.sms_code_hmac, pending.id, pending.sms_code_hmac
    )


# Codes kept on a device row: enrollment and re-authentication -------------


def _send_device_code(device):
    def store_code(digest, expires_at):
        device.code_hmac = digest
        device.code_expires_at = expires_at
        device.code_attempts = 0
        return True

    def forget_code():
        device.code_hmac = None

    return _store_and_send(device.phone_e164, store_code, forget_code)


def _check_device_code(device, code):
    """Accept the code stored on a device row; five wrong entries void it."""
    if device.code_hmac is None:
        raise EnrollmentNotStarted("no code outstanding")
    if device.code_expires_at <= clock.now():
        raise CodeExpired("code expired")

    if not _matches(device.code_hmac, code):
        db.session.execute(
            update(SmsDevice)
            .where(SmsDevice.id == device.id)
            .values(code_attempts=SmsDevice.code_attempts + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(device)
        if device.code_attempts >= current_app.config["MAX_CODE_ATTEMPTS"]:
            device.code_hmac = None
            raise TooManyAttempts("code voided after too many wrong entries")
        raise InvalidCode("code does not match")

    _use_once(SmsDevice, SmsDevice.code_hmac, device.id, device.code_hmac)
    db.session.refresh(device)


def start_enrollment(user, e164):
    """Text a code to a new number; the number counts only once it is entered.

    Any earlier unfinished enrollment is replaced; the active number, if
    any, keeps working until the new one is confirmed.
    """
    refused = _refusal(e164)
    if refused is not None:
        return refused

    db.session.execute(
        db.delete(SmsDevice).where(
            SmsDevice.user_id == user.id, SmsDevice.confirmed_at.is_(None)
        )
    )
    device = SmsDevice(user_id=user.id, phone_e164=e164)
    db.session.add(device)
    db.session.flush()

    outcome = _send_device_code(device)
    if outcome is not Outcome.SENT:
        db.session.delete(device)
        db.session.commit()
    return outcome


def confirm_enrollment(user, code):
    """Check the code sent to the new number and make that number the active one."""
    device = pending_device(user)
    if device is None:
        raise EnrollmentNotStarted("no SMS enrollment in progress")

    _check_device_code(device, code)
    return methods.confirm_device(device)


def send_reauth_code(user):
    """Text a code for re-authentication to the user's active number."""
    device = confirmed_device(user)
    if device is None:
        return Outcome.UNAVAILABLE
    # The active row's code columns are free: enrollment codes live on the
    # unconfirmed row of the new number.
    return _refusal(device.phone_e164) or _send_device_code(device)


def reauth_code_outstanding(user):
    """True while a texted re-authentication code is waiting to be entered."""
    device = confirmed_device(user)
    if device is None or device.code_hmac is None:
        return False
    return device.code_expires_at > clock.now()


def verify_reauth_code(user, code):
    device = confirmed_device(user)
    if device is None:
        raise MethodUnavailable("no SMS number")
    _check_device_code(device, code)
