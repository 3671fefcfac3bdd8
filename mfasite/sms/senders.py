"""Where text messages go: Twilio in production, the console in development."""

import logging
import secrets
import threading
from collections import deque
from dataclasses import dataclass

import requests
from flask import current_app
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .. import clock
from ..mfa.phone import for_log

log = logging.getLogger(__name__)

EXTENSION_KEY = "mfasite.sms_sender"

# Twilio error codes with a meaning of their own (https://www.twilio.com/docs/api/errors).
UNSUBSCRIBED = 21610
INVALID_TO = 21211
NOT_MOBILE = 21614


class SendError(Exception):
    """The message was not sent."""


class RecipientOptedOut(SendError):
    """The carrier or Twilio says the number replied STOP."""


class InvalidRecipient(SendError):
    """The number is not a valid phone number."""


class NotMobile(SendError):
    """The number cannot receive text messages."""


class DeliveryFailed(SendError):
    """Twilio was unreachable, too slow or failed: the message may not have gone."""


_BY_CODE = {
    UNSUBSCRIBED: RecipientOptedOut,
    INVALID_TO: InvalidRecipient,
    NOT_MOBILE: NotMobile,
}


class TwilioSender:
    """Sends through the Twilio Messages API with the real client."""

    name = "twilio"

    def __init__(self, client, from_number=None, messaging_service_sid=None):
        self.client = client
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid

    def send(self, to, body):
        """Send one message and return its SID; raise a SendError when refused."""
        fields = {"to": to, "body": body}
        if self.messaging_service_sid:
            fields["messaging_service_sid"] = self.messaging_service_sid
        else:
            fields["from_"] = self.from_number

        try:
            message = self.client.messages.create(**fields)
        except TwilioRestException as error:
            # Twilio's own message can quote the number, so only the code is logged.
            log.warning(
                "sms refused by twilio to=%s status=%s code=%s",
                for_log(to),
                error.status,
                error.code,
            )
            raise _BY_CODE.get(error.code, DeliveryFailed)(error.code) from None
        except (requests.RequestException, TwilioException) as error:
            # The HTTP client raises requests' own errors on a timeout or a
            # refused connection: they are not TwilioExceptions.
            log.warning("sms not sent to=%s: %s", for_log(to), type(error).__name__)
            raise DeliveryFailed(type(error).__name__) from None
        except Exception:
            # A sign-in must survive whatever the client library does.
            log.exception("sms failed unexpectedly to=%s", for_log(to))
            raise DeliveryFailed("unexpected") from None

        log.info("sms sent to=%s sid=%s", for_log(to), message.sid)
        return message.sid


@dataclass(frozen=True)
class OutboxMessage:
    sid: str
    to: str
    body: str
    sent_at: object


class ConsoleSender:
    """Development only: logs each message and keeps it for the outbox page."""

    name = "console"

    def __init__(self, keep=50):
        self._lock = threading.Lock()
        self._messages = deque(maxlen=keep)

    def send(self, to, body):
        """Keep the message and print it, code and number included."""
        sid = "SM" + secrets.token_hex(16)
        with self._lock:
            self._messages.appendleft(OutboxMessage(sid, to, body, clock.now()))
        # The one place a full number and a code may be printed: development.
        log.info("console sms to %s: %s", to, body)
        return sid

    @property
    def outbox(self):
        """The messages kept, newest first."""
        with self._lock:
            return list(self._messages)


def twilio_configured(config):
    has_sender = config["TWILIO_FROM_NUMBER"] or config["TWILIO_MESSAGING_SERVICE_SID"]
    return bool(
        config["TWILIO_ACCOUNT_SID"] and config["TWILIO_AUTH_TOKEN"] and has_sender
    )


def build(config, development):
    """Return the sender the settings ask for, or None when SMS is unavailable."""
    backend = config["SMS_BACKEND"]
    if backend == "auto":
        if twilio_configured(config):
            backend = "twilio"
        else:
            backend = "console" if development else "none"

    if backend == "twilio":
        if not twilio_configured(config):
            raise RuntimeError(
                "SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID"
            )
        return TwilioSender(
            _twilio_client(config),
            config["TWILIO_FROM_NUMBER"],
            config["TWILIO_MESSAGING_SERVICE_SID"],
        )
    if backend == "console":
        if not development:
            raise RuntimeError("the console SMS backend is for development only")
        return ConsoleSender()
    if backend == "none":
        return None
    raise RuntimeError(f"unknown SMS_BACKEND {backend!r}")


def _twilio_client(config):
    # Its INFO lines echo every API request; warnings and errors still show.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

    # Tests pass an HTTP client aimed at a local fake; it is not an env setting.
    http_client = config.get("TWILIO_HTTP_CLIENT") or TwilioHttpClient(
        timeout=float(config["TWILIO_TIMEOUT"])
    )
    return Client(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        http_client=http_client,
    )


def current():
    """The app's sender, or None when SMS is unavailable."""
    return current_app.extensions.get(EXTENSION_KEY)
