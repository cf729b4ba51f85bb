"""A customer profile as callers state it (spec "Customer ID"; webex-connect.md §6).

A profile links the caller's own key for a customer, the customer id, to the customer's WhatsApp
number, with a display name, a consent statement and flat attributes. The parsers here turn
untrusted values (a JSON body, CSV cells) into these frozen types or raise `InvalidMessage`
naming the offending field, so the API and the CSV import refuse the same things the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wanode.codes import SYNC
from wanode.messages import InvalidMessage
from wanode.policy import OptInStatus, normalise_number

MAX_CUSTOMER_ID = 128  # the width of contacts.customer_id
MAX_NAME = 256
MAX_SOURCE = 200
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_NAME = 64
MAX_ATTRIBUTE_VALUE = 1000
# A client's clock may run a little ahead of ours; a consent further in the future is a mistake,
# and stored it would make every later opt-out look older than it (see store.contacts).
FUTURE_TOLERANCE_SECONDS = 300.0

Scalar = str | int | float | bool | None
_FIELDS = frozenset({"waid", "name", "optIn", "attributes"})
_OPT_IN_FIELDS = frozenset({"status", "source", "at"})
_STATED = {OptInStatus.OPTED_IN.value, OptInStatus.OPTED_OUT.value}


@dataclass(frozen=True, slots=True)
class OptInChange:
    """What a caller says about consent. `at` (Unix seconds) None means "as of recording"."""

    status: OptInStatus
    source: str | None = None
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """A customer profile to store. None means "leave what is stored"; `attributes`, when
    given, replace the stored ones as a whole."""

    customer_id: str
    wa_id: str
    name: str | None = None
    opt_in: OptInChange | None = None
    attributes: Mapping[str, Scalar] | None = None


def check_customer_id(value: object, field: str = "customerid") -> str:
    """A customer id: 1 to 128 characters, no control characters, no outer whitespace.

    Outer whitespace is refused rather than trimmed: "c-1 " and "c-1" would otherwise be two
    customers that nobody can tell apart when reading a flow or a report.
    """
    if not isinstance(value, str):
        raise InvalidMessage(field, "must be a string")
    if not value:
        raise InvalidMessage(field, "is empty", code=SYNC.MANDATORY_MISSING)
    if len(value) > MAX_CUSTOMER_ID:
        raise InvalidMessage(
            field, f"must be at most {MAX_CUSTOMER_ID} characters, not {len(value)}"
        )
    _no_control(value, field)
    if value != value.strip():
        raise InvalidMessage(field, "must not start or end with whitespace")
    return value


def check_text(value: object, field: str, *, max_length: int) -> str:
    """A short label (a name, a consent source): trimmed, not empty, no control characters."""
    if not isinstance(value, str):
        raise InvalidMessage(field, "must be a string")
    text = value.strip()
    if not text:
        raise InvalidMessage(field, "is empty")
    if len(text) > max_length:
        raise InvalidMessage(field, f"must be at most {max_length} characters, not {len(text)}")
    _no_control(text, field)
    return text


def check_attribute_name(name: str, field: str) -> str:
    if not name or len(name) > MAX_ATTRIBUTE_NAME:
        raise InvalidMessage(field, f"names must have 1 to {MAX_ATTRIBUTE_NAME} characters")
    _no_control(name, field)
    return name


def check_attribute_value(value: object, field: str) -> Scalar:
    """Attributes are flat: strings, numbers, booleans or null, like flow variables."""
    if isinstance(value, str):
        if len(value) > MAX_ATTRIBUTE_VALUE:
            raise InvalidMessage(
                field, f"must be at most {MAX_ATTRIBUTE_VALUE} characters, not {len(value)}"
            )
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    raise InvalidMessage(field, "must be a string, a number, true, false or null")


def check_attributes(value: object, field: str = "attributes") -> dict[str, Scalar]:
    if not isinstance(value, dict):
        raise InvalidMessage(field, "must be an object")
    if len(value) > MAX_ATTRIBUTES:
        raise InvalidMessage(
            field, f"may hold at most {MAX_ATTRIBUTES} attributes, not {len(value)}"
        )
    return {
        check_attribute_name(name, field): check_attribute_value(item, f"{field}.{name}")
        for name, item in value.items()
    }


def parse_time(value: object, field: str, *, now: float) -> float:
    """An ISO 8601 time (a date alone is its midnight; no offset is UTC), not in the future.

    Up to `FUTURE_TOLERANCE_SECONDS` ahead is taken as `now`: the caller's clock, not a plan.
    """
    if not isinstance(value, str):
        raise InvalidMessage(field, "must be an ISO 8601 time, e.g. 2024-05-01T09:30:00Z")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        at = parsed.timestamp()
    except (ValueError, OverflowError):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise InvalidMessage(
            field, f"{shown!r} is not an ISO 8601 time, e.g. 2024-05-01T09:30:00Z"
        ) from None
    if at > now + FUTURE_TOLERANCE_SECONDS:
        raise InvalidMessage(field, "is in the future")
    return min(at, now)


def stated_status(value: object, field: str) -> OptInStatus:
    """A consent a caller can state: opted_in or opted_out ("unknown" is only our default)."""
    if not isinstance(value, str) or value not in _STATED:
        raise InvalidMessage(field, "must be opted_in or opted_out")
    return OptInStatus(value)


def parse_opt_in(value: object, *, now: float, field: str = "optIn") -> OptInChange:
    """The JSON form: `{"status": "opted_in" | "opted_out", "source"?: str, "at"?: ISO time}`."""
    if not isinstance(value, dict):
        raise InvalidMessage(field, "must be an object")
    _known(value, _OPT_IN_FIELDS, f"{field}.")
    if value.get("status") is None:
        raise InvalidMessage(f"{field}.status", "is missing", code=SYNC.MANDATORY_MISSING)
    status = stated_status(value["status"], f"{field}.status")
    source, at = value.get("source"), value.get("at")
    if source is not None:
        source = check_text(source, f"{field}.source", max_length=MAX_SOURCE)
    return OptInChange(
        status, source, None if at is None else parse_time(at, f"{field}.at", now=now)
    )


def parse_profile(customer_id: str, body: Mapping[str, Any], *, now: float) -> Profile:
    """The body of `PUT /v1/contacts/{customerid}`; numbers are normalised tolerantly."""
    _known(body, _FIELDS, "")
    waid = body.get("waid")
    if waid is None:
        raise InvalidMessage("waid", "is missing", code=SYNC.MANDATORY_MISSING)
    if not isinstance(waid, str):
        raise InvalidMessage("waid", "must be a string")
    name, opt_in, attributes = body.get("name"), body.get("optIn"), body.get("attributes")
    return Profile(
        customer_id=check_customer_id(customer_id),
        wa_id=normalise_number(waid, require_e164=False, field="waid"),
        name=None if name is None else check_text(name, "name", max_length=MAX_NAME),
        opt_in=None if opt_in is None else parse_opt_in(opt_in, now=now),
        attributes=None if attributes is None else check_attributes(attributes),
    )


def _known(value: Mapping[str, Any], fields: frozenset[str], prefix: str) -> None:
    unknown = sorted(set(value) - fields)
    if unknown:
        raise InvalidMessage(
            f"{prefix}{unknown[0]}", f"is not a field; expected one of {', '.join(sorted(fields))}"
        )


def _no_control(text: str, field: str) -> None:
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidMessage(field, "must not contain control characters")
