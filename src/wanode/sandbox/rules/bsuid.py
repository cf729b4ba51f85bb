"""Business-scoped user ids (BSUIDs): the `user_id` Meta gives each user per business.

Since 2026 Meta puts a user's BSUID in webhooks (`contacts[].user_id`) and takes it as a
send's `recipient` in place of `to`. Its form: the user's country (ISO 3166 alpha-2), a
period, then digits (`US.13491208655302741918`; pywa 4.5 recognises a BSUID by exactly
`[A-Z]{2}\\.\\d+`).

The sandbox keeps no table of them: a handset's BSUID is computed from its number and the
business (the WABA), so it is the same after a restart, differs from one business to
another, and can be turned back into the number it names. The 20 digits are the number
through an affine map modulo 10^20 whose factor and offset come from a hash of the business;
the factor is a unit modulo 10^20 (odd, not a multiple of 5), so the map has an inverse.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Final

import phonenumbers

_DIGITS: Final = 20
_MODULUS: Final = 10**_DIGITS
_FORM: Final = re.compile(r"([A-Z]{2})\.([0-9]{20})")
# A wa_id is at most 15 digits (E.164).
_MAX_WA_ID: Final = 10**15


# Every status webhook names its recipient's BSUID: computed once per (number, business).
@functools.lru_cache(maxsize=1 << 16)
def user_id(wa_id: str, business: str) -> str:
    """The BSUID of the user with number `wa_id` for `business` (a WABA id)."""
    factor, offset = _key(business)
    digits = (int(wa_id) * factor + offset) % _MODULUS
    return f"{_country(wa_id)}.{digits:0{_DIGITS}d}"


def wa_id_of(bsuid: str, business: str) -> str | None:
    """The number `bsuid` names for `business`, or None if it is no BSUID of that business."""
    match = _FORM.fullmatch(bsuid)
    if match is None:
        return None
    factor, offset = _key(business)
    number = (int(match[2]) - offset) * pow(factor, -1, _MODULUS) % _MODULUS
    if not 0 < number < _MAX_WA_ID:
        return None
    wa_id = str(number)
    return wa_id if user_id(wa_id, business) == bsuid else None


@functools.lru_cache(maxsize=256)
def _key(business: str) -> tuple[int, int]:
    digest = hashlib.sha256(f"wanode-sandbox-bsuid:{business}".encode()).digest()
    factor = int.from_bytes(digest[:16], "big") % _MODULUS | 1
    if factor % 5 == 0:
        factor = (factor + 2) % _MODULUS
    return factor, int.from_bytes(digest[16:], "big") % _MODULUS


def _country(wa_id: str) -> str:
    """The user's country: the region of the number's country code ("ZZ" when it has none,
    as +800 and the other non-geographic codes)."""
    region = _sole_region(wa_id)
    if region is not None:
        return region
    return _parsed_country(wa_id)


def _sole_region(wa_id: str) -> str | None:
    """`_parsed_country` without parsing, for a number of the usual length whose country code
    belongs to one region only (+49 is Germany whatever follows; +1 is not): None otherwise.

    phonenumbers takes the country code as the shortest prefix of one to three digits that is
    one, and names a code's only region without looking further; a national number of four
    digits or more is never too short or too long for `parse`.
    """
    if not 7 <= len(wa_id) <= 15 or not wa_id.isdigit() or wa_id[0] == "0":
        return None
    for size in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(wa_id[:size]))
        if regions is not None:
            if len(regions) != 1 or len(wa_id) - size < 4:
                return None
            region: str = regions[0]
            return region if region.isalpha() and len(region) == 2 else "ZZ"
    return None


def _parsed_country(wa_id: str) -> str:
    try:
        number = phonenumbers.parse("+" + wa_id)
    except phonenumbers.NumberParseException:
        return "ZZ"
    region = phonenumbers.region_code_for_number(
        number
    ) or phonenumbers.region_code_for_country_code(number.country_code or 0)
    return region if region and region.isalpha() and len(region) == 2 else "ZZ"
