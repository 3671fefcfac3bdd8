"""Development only: the texts the console backend "sent", and simulated replies.

Registered only with the console backend, which runs only in development.
A simulated reply goes through the real webhook, signed as Twilio would sign it.
"""

import secrets
import xml.etree.ElementTree as ElementTree

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Regexp

from ..enforcement import EXEMPT, allow
from ..mfa import sms
from . import senders
from .webhook import public_base_url, signing_token

bp = Blueprint("dev", __name__, url_prefix="/dev")

REPLIES = ("HELP", "STOP", "START")


class ReplyForm(FlaskForm):
    phone = StringField(
        "From number", validators=[DataRequired(), Regexp(r"^\+[1-9][0-9]{1,14}$")]
    )
    body = SelectField("Reply", choices=[SelectChoice(word) for word in REPLIES])


@bp.route("/outbox")
@allow(EXEMPT)
def outbox():
    """Every text the console backend kept, newest first."""
    messages = senders.current().outbox
    numbers = sorted({message.to for message in messages})
    return render_template(
        "dev/outbox.html",
        messages=messages,
        opted_out={number for number in numbers if sms.is_opted_out(number)},
        form=ReplyForm(phone=numbers[0] if numbers else ""),
    )


@bp.route("/outbox/reply", methods=["POST"])
@allow(EXEMPT)
def simulate_reply():
    """Post a reply to the webhook the way Twilio would, signature included."""
    form = ReplyForm()
    if not form.validate_on_submit():
        flash("Enter a number in E.164 form, such as +14155552671.", "error")
        return redirect(url_for("dev.outbox"), 303)

    status, answer = deliver_reply(form.phone.data, form.body.data)
    flash(f"The webhook answered {status}: {answer or '(no reply)'}", "info")
    return redirect(url_for("dev.outbox"), 303)


def deliver_reply(from_number, body):
    """Sign an inbound message and hand it to the webhook; return status and reply."""
    path = url_for("sms.webhook")
    base = public_base_url()
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": current_app.config["TWILIO_ACCOUNT_SID"] or "AC" + "0" * 32,
        "From": from_number,
        "To": current_app.config["TWILIO_FROM_NUMBER"] or "",
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(signing_token()).compute_signature(base + path, params)

    # In-process, through the whole WSGI stack: no network, and the signature
    # is checked exactly as for a request from Twilio.
    response = current_app.test_client().post(
        path, base_url=base, data=params, headers={SIGNATURE_HEADER: signature}
    )
    return response.status_code, _reply_of(response.get_data(as_text=True))


def _reply_of(twiml):
    try:
        message = ElementTree.fromstring(twiml).find("Message")
    except ElementTree.ParseError:
        return None
    return message.text if message is not None else None
