"""POST /sms/webhook: Twilio delivers the texts people send to the program's number."""

import hashlib
import hmac
import logging
import re

from flask import Blueprint, abort, current_app, render_template, request
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from .. import ratelimits
from ..enforcement import EXEMPT, allow
from ..extensions import db
from ..mfa import phone, sms
from . import is_development, keywords

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__, url_prefix="/sms")

_MESSAGE_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def signing_token():
    """The secret Twilio signs webhooks with, or None when none is configured."""
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    if token:
        return token
    if is_development(current_app):
        # No Twilio account in development: the outbox page signs its simulated
        # replies with a key of this instance, and the webhook checks it as usual.
        key = current_app.config["SECRET_KEY"].encode()
        return hmac.new(key, b"sms webhook", hashlib.sha256).hexdigest()
    return None


def public_base_url():
    """The site's address as Twilio sees it; never taken from a request alone."""
    configured = current_app.config["PUBLIC_BASE_URL"]
    if configured:
        return configured.rstrip("/")
    if is_development(current_app):
        return request.host_url.rstrip("/")
    return None


def _signed_url():
    base = public_base_url()
    if base is None:
        return None
    query = request.query_string.decode()
    return base + request.path + (f"?{query}" if query else "")


def _signature_ok():
    token = signing_token()
    url = _signed_url()
    signature = request.headers.get(SIGNATURE_HEADER)
    if token is None or url is None:
        log.warning("sms webhook refused: no auth token or PUBLIC_BASE_URL set")
        return False
    if not signature:
        log.info("sms webhook refused: no signature")
        return False

    # The account's auth token signs with HMAC-SHA1; shared-key signatures
    # (HMAC-SHA256 with another secret) are not configured here and fail.
    if not RequestValidator(token).validate(url, request.form, signature):
        log.info("sms webhook refused: bad signature")
        return False
    return True


def _twiml(reply=None):
    response = MessagingResponse()
    if reply and current_app.config["SMS_WEBHOOK_REPLIES"]:
        response.message(reply)
    return current_app.response_class(str(response), mimetype="application/xml")


def _reply_text(kind):
    return render_template(
        f"sms/reply_{kind}.txt",
        program_name=sms.program_name(),
        support=current_app.config["SMS_SUPPORT_CONTACT"],
    )


@bp.route("/webhook", methods=["POST"])
@ratelimits.webhook_ip_limit
@allow(EXEMPT)
def webhook():
    """Act on STOP, START and HELP from a phone, and answer in TwiML."""
    if not _signature_ok():
        return current_app.response_class("Forbidden", status=403)

    message_sid = request.form.get("MessageSid", "")
    sender = request.form.get("From", "")
    if not _MESSAGE_SID.fullmatch(message_sid) or not _E164.fullmatch(sender):
        log.info("sms webhook refused: malformed MessageSid or From")
        abort(400)

    if not sms.first_delivery(message_sid):
        # Twilio retried a message already handled: change nothing, say nothing.
        db.session.rollback()
        log.info("sms webhook duplicate delivery sid=%s", message_sid)
        return _twiml()

    kind = keywords.classify(request.form.get("Body"), request.form.get("OptOutType"))
    if kind == keywords.STOP:
        sms.opt_out(sender)
    elif kind == keywords.START:
        sms.opt_in(sender)
    db.session.commit()

    log.info("sms webhook %s from=%s sid=%s", kind, phone.for_log(sender), message_sid)
    return _twiml(_reply_text(kind))
