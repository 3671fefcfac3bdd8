"""A fake Twilio REST API on loopback, for tests that drive the real client."""

import json
import re
import secrets
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Self
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fa4e" * 8

# Error codes tests usually script, named after what they mean to the app.
UNSUBSCRIBED = 21610
INVALID_TO = 21211
NOT_MOBILE = 21614
INTERNAL_ERROR = 20500
UNAVAILABLE = 20503

# Each code the fake can answer with, and the HTTP status and message the real
# API pairs with it (https://www.twilio.com/docs/api/errors).
ERRORS = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    INTERNAL_ERROR: (500, "An internal server error has occurred"),
    UNAVAILABLE: (503, "Service is unavailable. Please try again"),
    INVALID_TO: (400, "Invalid 'To' Phone Number"),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    UNSUBSCRIBED: (400, "Attempt to send to unsubscribed recipient"),
    NOT_MOBILE: (400, "'To' number is not a valid mobile number"),
}

MESSAGES_PATH = re.compile(
    r"/2010-04-01/Accounts/(?P<account_sid>[^/]+)/Messages\.json"
)

# The real client builds every URL it sends from this base.
TWILIO_API_BASE = "https://api.twilio.com/"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, as it arrived.

    `form` keeps the first value of each field; the app sends no repeated ones.
    """

    method: str
    path: str
    account_sid: str | None
    auth_ok: bool
    form: dict[str, str]


@dataclass(frozen=True)
class _Script:
    """What the fake does with one message instead of simply accepting it."""

    code: int | None = None
    delay: float = 0.0


class FakeTwilioApi:
    """A threaded HTTP server on 127.0.0.1 that answers like the Messages API."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._messages: list[dict] = []
        self._next: deque[_Script] = deque()
        self._by_number: dict[str, _Script] = {}

        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://127.0.0.1:{self._server.port}"

        # A short poll interval keeps stop() quick between tests.
        self._thread = threading.Thread(
            target=partial(self._server.serve_forever, poll_interval=0.05),
            name="fake-twilio-api",
            daemon=True,
        )
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Wake any stalled answers, stop serving and close the socket."""
        if self._stopping.is_set():
            return

        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def reset(self) -> None:
        """Forget recorded requests, messages and scripted outcomes."""
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._next.clear()
            self._by_number.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[dict]:
        """The message resources created so far, oldest first."""
        with self._lock:
            return list(self._messages)

    def fail_next(self, code: int, times: int = 1) -> None:
        """Answer the next `times` messages with the Twilio error `code`."""
        _check_code(code)
        with self._lock:
            self._next.extend([_Script(code=code)] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Stall the next `times` messages for `seconds`, then accept them."""
        with self._lock:
            self._next.extend([_Script(delay=seconds)] * times)

    def fail_to(self, to: str, code: int) -> None:
        """Answer every message to the number `to` with the error `code`."""
        _check_code(code)
        with self._lock:
            self._by_number[to] = _Script(code=code)

    def _wsgi(self, environ: dict, start_response) -> Iterator[bytes]:
        response = self._answer(Request(environ))
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        match = MESSAGES_PATH.fullmatch(request.path)
        account_sid = match["account_sid"] if match else None
        auth = request.authorization
        auth_ok = (
            auth is not None
            and auth.username == self.account_sid
            and auth.password == self.auth_token
            and account_sid in (None, self.account_sid)
        )
        form = request.form.to_dict()

        # Record on arrival, so a test whose client timed out still sees it.
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    request.method, request.path, account_sid, auth_ok, form
                )
            )

        if not auth_ok:
            return _error(20003)
        if match is None or request.method != "POST":
            return _error(20404)

        script = self._take_script(form.get("To"))
        if script.delay:
            self._stopping.wait(script.delay)
        if script.code is not None:
            return _error(script.code)

        missing = _missing_field(form)
        if missing is not None:
            return _error(missing)

        message = _message_resource(account_sid, form)
        with self._lock:
            self._messages.append(message)
        return _json(message, 201)

    def _take_script(self, to: str | None) -> _Script:
        # Queued outcomes come first, as the test asked for them in order.
        with self._lock:
            if self._next:
                return self._next.popleft()
            return self._by_number.get(to, _Script())


class _QuietHandler(WSGIRequestHandler):
    """Request handler that keeps the access log out of test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class LoopbackHttpClient(TwilioHttpClient):
    """A Twilio HTTP client that sends each API request to a fake on loopback."""

    def __init__(self, base_url: str, timeout: float | None = None):
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"not a loopback URL: {base_url!r}")

        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

        # Proxy settings from the environment must not send loopback traffic
        # anywhere else.
        self.session.trust_env = False

    def request(self, method: str, url: str, **kwargs) -> TwilioResponse:
        """Send the request to the fake; refuse any URL it cannot rewrite."""
        # Refusing, rather than passing the URL on, is what guarantees a test
        # never reaches the real Twilio, e.g. if TWILIO_REGION changed the host.
        if not url.startswith(TWILIO_API_BASE):
            raise TwilioException(f"refusing to send {url} outside the fake")

        local_url = self.base_url + "/" + url.removeprefix(TWILIO_API_BASE)
        return super().request(method, local_url, **kwargs)


def make_http_client(
    fake: FakeTwilioApi, timeout: float | None = None
) -> LoopbackHttpClient:
    """Return an HTTP client for the app to pass as `Client(http_client=...)`."""
    return LoopbackHttpClient(fake.base_url, timeout=timeout)


def make_client(
    fake: FakeTwilioApi,
    account_sid: str | None = None,
    auth_token: str | None = None,
    timeout: float | None = None,
) -> Client:
    """Return a real Twilio client whose requests all go to `fake`."""
    client = Client(
        account_sid or fake.account_sid,
        auth_token or fake.auth_token,
        http_client=make_http_client(fake, timeout),
    )

    # The client reads TWILIO_EDGE and TWILIO_REGION from the environment and
    # would move requests to another host, which the HTTP client refuses.
    client.edge = None
    client.region = None
    return client


def fake_twilio_api() -> Iterator[FakeTwilioApi]:
    """Run a fake for one test; a conftest wraps this in `pytest.fixture`."""
    with FakeTwilioApi() as fake:
        yield fake


def _check_code(code: int) -> None:
    if code not in ERRORS:
        raise ValueError(f"the fake has no error {code}; known: {sorted(ERRORS)}")


def _missing_field(form: dict[str, str]) -> int | None:
    """Return the error code for the first required field the form lacks."""
    if not form.get("To"):
        return 21604
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return 21603
    if not form.get("Body") and not form.get("MediaUrl"):
        return 21602
    return None


def _message_resource(account_sid: str, form: dict[str, str]) -> dict:
    """Build the message resource the real API returns on creation."""
    sid = "SM" + secrets.token_hex(16)
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")

    # Twilio picks the sender later for a messaging service, so such a message
    # starts as "accepted" with no "from" yet.
    status = "queued" if form.get("From") else "accepted"

    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "1" if form.get("MediaUrl") else "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {
            "media": f"{uri}/Media.json",
            "feedback": f"{uri}/Feedback.json",
        },
        "to": form["To"],
        "uri": f"{uri}.json",
    }


def _error(code: int) -> Response:
    status, message = ERRORS[code]
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return _json(body, status)


def _json(body: dict, status: int) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
