"""Destination numbers (spec "Destination" and its "+E.164" note; cloud-api.md §1.1, §10).

A WA ID is the full international number as digits, without `+`: what WhatsApp reports as
`wa_id` and what wa.me links carry. `normalise_number` turns what a client typed into one,
checked against the numbering plans `phonenumbers` knows: with `require_e164` a number must be
in an assigned range (fictional ranges such as +1 555 01xx or the UK's 07700 900xxx are
refused); otherwise it must only be of a possible length for its country.
"""

from __future__ import annotations

import phonenumbers

from wanode.codes import SYNC
from wanode.messages import InvalidMessage

_DIGITS = frozenset("0123456789")
# Dots too: phonenumbers itself writes some plans with them (New Caledonia: +687 75.12.34).
_TOLERATED = _DIGITS | frozenset(" -.()")
MIN_DIGITS = 7
MAX_DIGITS = 15  # E.164's maximum, country code included


def normalise_number(
    raw: str,
    *,
    require_e164: bool,
    default_region: str | None = None,
    field: str = "destination",
) -> str:
    """The WA ID (E.164 digits, no `+`) for `raw`, or `InvalidMessage` naming `field`.

    With `require_e164` (the tenant's "+E.164" setting) `raw` must be exactly E.164: `+`, the
    country code and the number, digits only. Otherwise spaces, dashes, dots and brackets
    are tolerated, and so is a missing `+`: the digits are then read as an international number,
    country code first (a WA ID), unless `default_region` (ISO 3166 alpha-2, e.g. "GB") is
    given, in which case a number without `+` is read as that region's national format
    ("07911 123456"). `default_region` does not apply to E.164 input.

    Codes: 7003 when `raw` is empty, 7004 for anything else.

    Numbers found valid are remembered (`phonenumbers` takes some 20-40 µs a number; a
    campaign's audience is mostly numbers sent to before): a number is valid or not whatever
    the field it came in, and refusals are worked out again each time, to name their field.
    """
    key = (raw, require_e164, default_region)
    known = _KNOWN.get(key)
    if known is not None:
        return known
    wa_id = _normalise(raw, require_e164=require_e164, default_region=default_region, field=field)
    if len(_KNOWN) >= KNOWN_MAX:
        _KNOWN.clear()  # a flood of new numbers only restarts the cache
    _KNOWN[key] = wa_id
    return wa_id


# Valid numbers as given (with the two settings that decide) and their WA IDs.
_KNOWN: dict[tuple[str, bool, str | None], str] = {}
KNOWN_MAX = 65_536


def _normalise(raw: str, *, require_e164: bool, default_region: str | None, field: str) -> str:
    region = _region(default_region)
    text = raw.strip()
    if not text:
        raise InvalidMessage(field, "is empty", code=SYNC.MANDATORY_MISSING)
    if require_e164:
        return _e164(text, field)
    if text[0] == "+":
        body = text[1:]
        international = True
    else:
        body = text
        international = region is None
    if body.isascii() and body.isdigit():
        digits = body  # the usual WA ID: nothing to take out
    elif not set(body) <= _TOLERATED:
        raise InvalidMessage(
            field, "may contain only digits, spaces, dashes, dots, brackets and a leading +"
        )
    else:
        digits = "".join(ch for ch in body if ch in _DIGITS)
    if international:
        _check_length(digits, field)
        number = _parse("+" + digits, None, field)
    else:
        number = _parse(digits, region, field)
    _check_valid(number, field, region=None if international else region, strict=False)
    wa_id = _wa_id(number)
    _check_length(wa_id, field)  # a national number can be possible yet too short in full
    return wa_id


def _e164(text: str, field: str) -> str:
    if text[0] != "+":
        raise InvalidMessage(field, "must start with + and the country code (+E.164 format)")
    digits = text[1:]
    if not digits or not set(digits) <= _DIGITS:
        raise InvalidMessage(
            field, "must be + and digits only, without spaces or punctuation (+E.164 format)"
        )
    _check_length(digits, field)
    number = _parse(text, None, field)
    _check_valid(number, field, region=None, strict=True)
    wa_id = _wa_id(number)
    if wa_id != digits:
        raise InvalidMessage(field, f"is not in +E.164 form; did you mean +{wa_id}?")
    return wa_id


def _check_length(digits: str, field: str) -> None:
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidMessage(
            field,
            f"must have {MIN_DIGITS} to {MAX_DIGITS} digits including the country code, "
            f"not {len(digits)}",
        )


def _parse(text: str, region: str | None, field: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            reason = "does not start with a known country code"
        else:
            reason = "is not a phone number"
        raise InvalidMessage(field, reason) from None


def _check_valid(
    number: phonenumbers.PhoneNumber, field: str, *, region: str | None, strict: bool
) -> None:
    """Strict (+E.164 required): a number in an assigned range. Tolerant: a number of a possible
    length for its country; numbering plans change faster than `phonenumbers` releases, and a
    false refusal costs more than letting WhatsApp answer 131026 for a number that is no user."""
    valid = phonenumbers.is_valid_number if strict else phonenumbers.is_possible_number
    if valid(number):
        return
    if region is not None:
        raise InvalidMessage(field, f"is not a valid phone number for region {region}")
    code = number.country_code or 0
    home = phonenumbers.region_code_for_country_code(code)
    if home.isalpha():
        raise InvalidMessage(field, f"is not a valid phone number for region {home}")
    # "001" is a non-geographic code such as +800.
    raise InvalidMessage(field, f"is not a valid phone number for country code +{code}")


def _wa_id(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _region(default_region: str | None) -> str | None:
    if default_region is None:
        return None
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{default_region!r} is not a region phonenumbers knows")
    return region
