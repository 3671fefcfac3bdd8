import time

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from fakes.twilio_api import (
    INTERNAL_ERROR,
    INVALID_TO,
    NOT_MOBILE,
    UNAVAILABLE,
    UNSUBSCRIBED,
    FakeTwilioApi,
    LoopbackHttpClient,
    make_client,
    make_http_client,
)

TO = "+15558675310"
FROM = "+15005550006"


def send(client, to=TO, **fields):
    fields.setdefault("from_", FROM)
    fields.setdefault("body", "Your code is 123456")
    return client.messages.create(to=to, **fields)


def test_create_message_records_fields_and_auth(fake_twilio):
    client = make_client(fake_twilio, timeout=2)

    message = send(client)

    [request] = fake_twilio.requests
    assert request.method == "POST"
    assert request.account_sid == fake_twilio.account_sid
    assert request.auth_ok
    assert request.form == {"To": TO, "From": FROM, "Body": "Your code is 123456"}
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.from_) == ("queued", TO, FROM)
    assert message.body == "Your code is 123456"
    assert message.date_created is not None
    assert fake_twilio.messages[0]["sid"] == message.sid


def test_create_message_with_injected_http_client(fake_twilio):
    client = Client(
        fake_twilio.account_sid,
        fake_twilio.auth_token,
        http_client=make_http_client(fake_twilio, timeout=2),
    )

    send(client)

    assert fake_twilio.requests[0].auth_ok


def test_create_message_with_messaging_service(fake_twilio):
    client = make_client(fake_twilio, timeout=2)

    message = client.messages.create(
        to=TO, messaging_service_sid="MG" + "1" * 32, body="hi"
    )

    assert fake_twilio.requests[0].form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in fake_twilio.requests[0].form
    assert (message.status, message.from_) == ("accepted", None)


def test_create_message_wrong_token_is_refused(fake_twilio):
    client = make_client(fake_twilio, auth_token="0" * 32, timeout=2)

    with pytest.raises(TwilioRestException) as caught:
        send(client)

    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert fake_twilio.requests[0].auth_ok is False
    assert fake_twilio.messages == []


def test_create_message_missing_body_is_refused(fake_twilio):
    client = make_client(fake_twilio, timeout=2)

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=TO, from_=FROM)

    assert (caught.value.status, caught.value.code) == (400, 21602)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (UNSUBSCRIBED, 400),
        (INVALID_TO, 400),
        (NOT_MOBILE, 400),
        (INTERNAL_ERROR, 500),
        (UNAVAILABLE, 503),
    ],
)
def test_fail_next_raises_rest_exception(fake_twilio, code, status):
    client = make_client(fake_twilio, timeout=2)
    fake_twilio.fail_next(code)

    with pytest.raises(TwilioRestException) as caught:
        send(client)

    assert (caught.value.status, caught.value.code) == (status, code)
    assert fake_twilio.messages == []
    assert send(client).status == "queued"


def test_fail_next_times_fails_that_many(fake_twilio):
    client = make_client(fake_twilio, timeout=2)
    fake_twilio.fail_next(UNAVAILABLE, times=2)

    for _ in range(2):
        with pytest.raises(TwilioRestException):
            send(client)

    assert send(client).status == "queued"
    assert len(fake_twilio.requests) == 3


def test_fail_to_fails_only_that_number(fake_twilio):
    client = make_client(fake_twilio, timeout=2)
    fake_twilio.fail_to("+15005550009", NOT_MOBILE)

    with pytest.raises(TwilioRestException) as caught:
        send(client, to="+15005550009")
    send(client)

    assert caught.value.code == NOT_MOBILE
    assert [m["to"] for m in fake_twilio.messages] == [TO]


def test_fail_next_unknown_code_is_refused(fake_twilio):
    with pytest.raises(ValueError):
        fake_twilio.fail_next(12345)


def test_delay_next_times_out_client(fake_twilio):
    client = make_client(fake_twilio, timeout=0.5)
    fake_twilio.delay_next(5)

    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        send(client)
    elapsed = time.monotonic() - started

    assert 0.4 < elapsed < 2
    assert len(fake_twilio.requests) == 1


def test_reset_forgets_requests_and_scripts(fake_twilio):
    client = make_client(fake_twilio, timeout=2)
    fake_twilio.fail_next(UNSUBSCRIBED)
    fake_twilio.fail_to(TO, UNSUBSCRIBED)
    fake_twilio.reset()

    send(client)

    assert len(fake_twilio.requests) == 1
    assert len(fake_twilio.messages) == 1


def test_stop_closes_the_port():
    with FakeTwilioApi() as fake:
        client = make_client(fake, timeout=0.5)
    fake.stop()  # a second stop is harmless

    with pytest.raises(requests.exceptions.ConnectionError):
        send(client)


def test_loopback_client_refuses_other_hosts(fake_twilio):
    http_client = LoopbackHttpClient(fake_twilio.base_url, timeout=0.5)

    with pytest.raises(TwilioException):
        http_client.request("GET", "https://api.us1.twilio.com/2010-04-01/x.json")
    with pytest.raises(TwilioException):
        http_client.request("GET", "https://verify.twilio.com/v2/Services")


def test_loopback_client_needs_a_loopback_base_url():
    with pytest.raises(ValueError):
        LoopbackHttpClient("https://api.twilio.com")


def test_make_client_ignores_region_from_environment(fake_twilio, monkeypatch):
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    client = make_client(fake_twilio, timeout=2)

    assert send(client).status == "queued"
