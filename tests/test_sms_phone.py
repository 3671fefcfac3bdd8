"""Phone numbers typed at SMS enrollment: what is accepted, and each refusal."""

import html

import phonenumbers
import pytest
from sms_support import (
    OTHER_PHONE,
    PHONE,
    PROGRAM_NUMBER,
    devices,
    outbox,
    sends,
)

from mfasite import messages
from mfasite.mfa import phone


@pytest.mark.parametrize("number", [PHONE, OTHER_PHONE, PROGRAM_NUMBER])
def test_fixture_numbers_are_valid_for_libphonenumber(number):
    assert phonenumbers.is_valid_number(phonenumbers.parse(number))


@pytest.mark.parametrize(
    "typed",
    [
        "(415) 555-2671",
        "415-555-2671",
        "+1 415 555 2671",
        "1-415-555-2671",
        "4155552671",
    ],
)
def test_parse_accepts_usual_ways_of_typing(typed):
    assert phone.parse(typed) == PHONE


REFUSED = [
    ("+44 20 7946 0958", messages.PHONE_NOT_NANP),
    ("+442079460958", messages.PHONE_NOT_NANP),
    ("1-800-FLOWERS", messages.PHONE_LETTERS),
    ("415 555 ABCD", messages.PHONE_LETTERS),
    ("415-555-267", messages.PHONE_TOO_SHORT),
    ("555-0100", messages.PHONE_TOO_SHORT),
    ("+1 123 456 7890", messages.PHONE_INVALID),
    ("+1 415 123 4567", messages.PHONE_INVALID),
    ("415#555#2671", messages.PHONE_INVALID),
    ("4" * 40, messages.PHONE_INVALID),
    ("(900) 555-0123", messages.PHONE_NOT_TEXTABLE),
    ("1-800-555-0199", messages.PHONE_NOT_TEXTABLE),
]


@pytest.mark.parametrize(("typed", "message"), REFUSED)
def test_parse_refuses_with_the_rule_broken(typed, message):
    with pytest.raises(phone.PhoneError) as refused:
        phone.parse(typed)
    assert str(refused.value) == message


def test_parse_limits_regions_when_configured():
    assert phone.parse("+1 416 555 0199", ["US", "CA"]) == "+14165550199"
    with pytest.raises(phone.PhoneError) as refused:
        phone.parse("+1 416 555 0199", ["US"])
    assert str(refused.value) == "Texts can only go to numbers in these regions: US."


def test_masked_shows_the_last_four_digits_and_logs_the_last_two():
    assert phone.masked(PHONE) == "(•••) •••-2671"
    assert phone.for_log(PHONE) == "***71"


def _error_of(response):
    text = response.get_data(as_text=True)
    start = text.index('class="field-error"')
    return html.unescape(text[text.index(">", start) + 1 : text.index("</p>", start)])


@pytest.mark.parametrize(("typed", "message"), REFUSED)
def test_enroll_refuses_bad_number_without_sending(app, actions, sms, typed, message):
    actions.signup()

    response = sms.start(typed)

    assert response.status_code == 400
    assert _error_of(response) == message
    assert devices(app) == [] and outbox(app) == [] and sends(app) == 0


def test_enroll_refuses_another_country_code_selected(app, actions, sms):
    actions.signup()

    response = sms.start("20 7946 0958", country="+44")

    assert response.status_code == 400
    assert _error_of(response) == messages.PHONE_NOT_NANP
    assert devices(app) == [] and outbox(app) == []


def test_enroll_refuses_empty_number(app, actions, sms):
    actions.signup()

    response = sms.start("  ")

    assert response.status_code == 400
    assert _error_of(response) == messages.PHONE_REQUIRED
    assert devices(app) == [] and outbox(app) == []


class TestAllowedRegions:
    @pytest.fixture
    def config_overrides(self):
        return {"SMS_ALLOWED_REGIONS": ["US"]}

    def test_enroll_refuses_region_not_allowed(self, app, actions, sms):
        actions.signup()

        response = sms.start("+1 416 555 0199")

        assert response.status_code == 400
        assert _error_of(response) == (
            "Texts can only go to numbers in these regions: US."
        )
        assert devices(app) == [] and outbox(app) == []
