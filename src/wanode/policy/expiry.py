"""Message expiry (spec "Expiry"; webex-connect.md §1.2 `expiry`, §6).

The spec offers two forms: a UTC time by which the send must be attempted, or a number of
seconds within which the message must reach WhatsApp. Both become one instant, `expires_at`
(Unix seconds), fixed when the request is accepted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from wanode.codes.webex import MESSAGE_EXPIRED
from wanode.messages import InvalidMessage
from wanode.policy.verdict import Policy, Verdict

# Meta drops any message it cannot deliver within 30 days (cloud-api.md §1.4, default TTL),
# so a longer relative expiry could never matter; a larger number is a unit mistake.
MAX_EXPIRY_SECONDS = 30 * 24 * 60 * 60

_INTEGER = re.compile(r"[+-]?[0-9]+")


def parse_expiry(
    value: str | int | None, accepted_at: float, *, field: str = "expiry"
) -> float | None:
    """The instant a message expires, from the request's `expiry`; None when there is none.

    - An int, or a string of ASCII digits, is seconds after `accepted_at`: 1 to
      `MAX_EXPIRY_SECONDS`.
    - Any other string is an ISO 8601 date *and time* (`2015-04-12T13:00:19.456Z`). The field
      is a UTC time, so a time without an offset is read as UTC (the spec's own example has
      none); one with an offset is converted to UTC. A time already past is accepted: the
      message then fails its expiry check when the engine picks it up, as the spec describes.
    - A blank string is no expiry (an unset flow variable resolves to "").

    Raises `InvalidMessage` (code 7004) naming `field`.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidMessage(field, "must be an ISO 8601 UTC time or a whole number of seconds")
    if isinstance(value, int):
        return accepted_at + _seconds(value, field)
    text = value.strip()
    if not text:
        return None
    if _INTEGER.fullmatch(text):
        return accepted_at + _seconds(_integer(text), field)
    return _instant(text, field)


def _integer(text: str) -> int:
    # int() refuses more than 4300 digits; 19 already lie past any bound, so clamp.
    if len(text.lstrip("+-").lstrip("0")) > 18:
        return -MAX_EXPIRY_SECONDS if text.startswith("-") else MAX_EXPIRY_SECONDS + 1
    return int(text)


def _seconds(seconds: int, field: str) -> int:
    if seconds <= 0:
        raise InvalidMessage(field, "must be a positive number of seconds")
    if seconds > MAX_EXPIRY_SECONDS:
        raise InvalidMessage(
            field,
            f"must be at most {MAX_EXPIRY_SECONDS} seconds (30 days, after which WhatsApp drops "
            "an undelivered message anyway)",
        )
    return seconds


def _instant(text: str, field: str) -> float:
    # A date alone would leave open whether the day's start or end was meant.
    if "T" not in text and " " not in text:
        raise InvalidMessage(
            field,
            f"{_quoted(text)} has no time of day; use e.g. 2015-04-12T13:00:19Z or a number "
            "of seconds",
        )
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    except (ValueError, OverflowError):
        raise InvalidMessage(
            field,
            f"{_quoted(text)} is not an ISO 8601 UTC time (e.g. 2015-04-12T13:00:19.456Z) "
            "or a number of seconds",
        ) from None


def _quoted(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def expired(expires_at: float | None, now: float) -> Verdict:
    """Refused (7705) once `now` is past `expires_at`; at the very instant it is still allowed,
    as the spec suppresses a send attempted *beyond* the set time."""
    if expires_at is None:
        return Verdict.allow(Policy.EXPIRY, "the message has no expiry")
    if now > expires_at:
        return Verdict.refuse(
            Policy.EXPIRY,
            MESSAGE_EXPIRED,
            f"expiry: the message expired {now - expires_at:.3f} seconds before this send attempt",
            field="expiry",
        )
    return Verdict.allow(Policy.EXPIRY, "the message has not expired")
