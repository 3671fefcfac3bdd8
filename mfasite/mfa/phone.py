"""Phone numbers for SMS: parsing what people type, and showing numbers masked."""

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from .. import messages

# Only the North American Numbering Plan: United States, Canada and the rest of +1.
COUNTRY_CODE = 1
DEFAULT_REGION = "US"
# What people type around the digits; anything else makes the number invalid.
_ALLOWED = re.compile(r"[0-9+\-(). ]+")
_LETTER = re.compile(r"[^\W\d_]")
MAX_INPUT_LENGTH = 32

_TOO_SHORT = {ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY}
# Numbers that cannot take a text, or that bill whoever texts them: sending
# codes there is how SMS pumping fraud runs up a bill.
_NOT_TEXTABLE = {
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
}


class PhoneError(ValueError):
    """A typed number was refused; the message says which rule it broke."""


def parse(text, allowed_regions=()):
    """Return the E.164 form of a +1 number typed in any usual way.

    Raise PhoneError with the user-facing reason otherwise. `allowed_regions`
    limits the NANP regions (e.g. "US", "CA"); empty accepts all of +1.
    """
    text = (text or "").strip()
    if _LETTER.search(text):
        raise PhoneError(messages.PHONE_LETTERS)
    if len(text) > MAX_INPUT_LENGTH or not _ALLOWED.fullmatch(text):
        raise PhoneError(messages.PHONE_INVALID)

    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException as error:
        if error.error_type == NumberParseException.TOO_SHORT_NSN:
            raise PhoneError(messages.PHONE_TOO_SHORT) from None
        raise PhoneError(messages.PHONE_INVALID) from None

    if number.country_code != COUNTRY_CODE:
        raise PhoneError(messages.PHONE_NOT_NANP)
    if phonenumbers.is_possible_number_with_reason(number) in _TOO_SHORT:
        raise PhoneError(messages.PHONE_TOO_SHORT)
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(messages.PHONE_INVALID)
    if phonenumbers.number_type(number) in _NOT_TEXTABLE:
        raise PhoneError(messages.PHONE_NOT_TEXTABLE)

    region = phonenumbers.region_code_for_number(number)
    if allowed_regions and region not in allowed_regions:
        raise PhoneError(
            messages.PHONE_REGION_REFUSED.format(regions=", ".join(allowed_regions))
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(e164):
    """The number as users see it on screen: (•••) •••-2671."""
    return f"(•••) •••-{e164[-4:]}"


def for_log(e164):
    """The number as operators see it in logs: its last two digits only."""
    return f"***{e164[-2:]}" if e164 else "-"


def national(e164):
    """A +1 number written the way people in North America write it."""
    number = phonenumbers.parse(e164, DEFAULT_REGION)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
