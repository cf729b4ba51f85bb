"""Property tests for the send policies: numbers round-trip, expiry and window arithmetic hold
for any values, and no input makes a parser raise anything but `InvalidMessage`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wanode.messages import InvalidMessage
from wanode.policy import (
    DEFAULT_OPT_IN_RULE,
    MAX_EXPIRY_SECONDS,
    WINDOW_SECONDS,
    ContactState,
    OptInState,
    OptInStatus,
    Outgoing,
    Policy,
    check_send,
    expired,
    normalise_number,
    parse_expiry,
    window,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PNF = phonenumbers.PhoneNumberFormat
_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


def _examples() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and phonenumbers.is_valid_number(number):
                found.append((region, number))
    return found


EXAMPLES = _examples()
examples = st.sampled_from(EXAMPLES)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)


def test_there_are_examples_for_most_regions() -> None:
    assert len({region for region, _ in EXAMPLES}) > 200


@FAST
@given(examples)
def test_e164_round_trips(example: tuple[str, phonenumbers.PhoneNumber]) -> None:
    _, number = example
    e164 = phonenumbers.format_number(number, PNF.E164)
    assert normalise_number(e164, require_e164=True) == e164[1:]
    assert normalise_number(e164, require_e164=False) == e164[1:]
    assert normalise_number(e164[1:], require_e164=False) == e164[1:]


@FAST
@given(examples, st.sampled_from([" ", "-", "."]))
def test_international_format_is_tolerated(
    example: tuple[str, phonenumbers.PhoneNumber], separator: str
) -> None:
    _, number = example
    wa_id = phonenumbers.format_number(number, PNF.E164)[1:]
    international = phonenumbers.format_number(number, PNF.INTERNATIONAL)
    assert normalise_number(international.replace(" ", separator), require_e164=False) == wa_id
    # The same text is not E.164 once it holds separators.
    if international != "+" + wa_id:
        try:
            normalise_number(international, require_e164=True)
        except InvalidMessage as exc:
            assert "digits only" in exc.reason
        else:
            raise AssertionError(f"{international!r} passed as +E.164")


@FAST
@given(examples)
def test_national_format_with_its_region(example: tuple[str, phonenumbers.PhoneNumber]) -> None:
    region, number = example
    national = phonenumbers.format_number(number, PNF.NATIONAL)
    wa_id = phonenumbers.format_number(number, PNF.E164)[1:]
    assert normalise_number(national, require_e164=False, default_region=region) == wa_id


@FAST
@given(st.text(max_size=30), st.booleans(), st.sampled_from([None, "GB", "US", "IN", "DE"]))
def test_any_text_normalises_or_raises_invalid_message(
    raw: str, require_e164: bool, region: str | None
) -> None:
    try:
        wa_id = normalise_number(raw, require_e164=require_e164, default_region=region)
    except InvalidMessage as exc:
        assert exc.field == "destination" and exc.reason
    else:
        assert wa_id.isdigit() and wa_id.isascii() and 7 <= len(wa_id) <= 15
        number = phonenumbers.parse("+" + wa_id)
        # +E.164 enforcement asks for an assigned range; otherwise a possible length suffices.
        valid = phonenumbers.is_valid_number if require_e164 else phonenumbers.is_possible_number
        assert valid(number)
        # Normalising is idempotent.
        assert normalise_number("+" + wa_id, require_e164=require_e164) == wa_id


@FAST
@given(st.from_regex(r"\+?[0-9 ().-]{0,20}", fullmatch=True), st.booleans())
def test_number_like_text_normalises_or_raises_invalid_message(raw: str, e164: bool) -> None:
    try:
        wa_id = normalise_number(raw, require_e164=e164)
    except InvalidMessage:
        return
    digits = "".join(ch for ch in raw if ch.isdigit())
    if wa_id != digits:
        # Only a national trunk prefix written after the country code may go ("+90 0212...").
        number = phonenumbers.parse("+" + wa_id)
        country, national = str(number.country_code), str(number.national_number)
        assert digits.startswith(country) and digits.endswith(national)
        assert len(digits) - len(wa_id) <= 2


@FAST
@given(st.integers(1, MAX_EXPIRY_SECONDS), times)
def test_expiry_seconds_are_relative_to_acceptance(seconds: int, accepted_at: float) -> None:
    assert parse_expiry(seconds, accepted_at) == accepted_at + seconds
    assert parse_expiry(str(seconds), accepted_at) == accepted_at + seconds


@FAST
@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 1, 1)),
    st.integers(-14 * 60, 14 * 60),
)
def test_expiry_times_in_any_offset_are_the_same_instant(moment: datetime, minutes: int) -> None:
    utc = moment.replace(tzinfo=UTC)
    zone = timezone(timedelta(minutes=minutes))
    expected = utc.timestamp()
    assert parse_expiry(utc.isoformat().replace("+00:00", "Z"), 0) == expected
    assert parse_expiry(utc.isoformat(), 0) == expected
    assert parse_expiry(moment.isoformat(), 0) == expected  # naive: UTC
    assert parse_expiry(utc.astimezone(zone).isoformat(), 0) == expected


@FAST
@given(st.text(max_size=40) | st.integers() | st.none())
def test_any_expiry_parses_or_raises_invalid_message(value: str | int | None) -> None:
    try:
        parse_expiry(value, 1000.0)
    except InvalidMessage as exc:
        assert exc.field == "expiry"


@FAST
@given(times, st.floats(min_value=-1e6, max_value=1e7, allow_nan=False))
def test_window_is_open_for_less_than_24_hours(last: float, elapsed: float) -> None:
    now = last + elapsed
    inside = now - last < WINDOW_SECONDS
    assert window(last, now, is_template=False).allowed is inside
    assert window(last, now, is_template=True).allowed


@FAST
@given(
    times,
    st.none() | times,
    st.none() | times,
    st.booleans(),
    st.sampled_from([None, "MARKETING", "UTILITY", "AUTHENTICATION"]),
    st.sampled_from(list(OptInStatus)),
)
def test_check_send_returns_the_first_refusal(
    now: float,
    last: float | None,
    expires_at: float | None,
    is_template: bool,
    category: str | None,
    status: OptInStatus,
) -> None:
    contact = ContactState(last, OptInState(status))
    message = Outgoing(is_template, category if is_template else None, expires_at)
    verdict = check_send(contact, message, now=now)
    if not expired(expires_at, now).allowed:
        assert verdict.policy is Policy.EXPIRY
    elif not window(last, now, is_template=is_template).allowed:
        assert verdict.policy is Policy.WINDOW
    elif verdict.policy is Policy.OPT_IN:
        assert is_template and status is not OptInStatus.OPTED_IN
        assert DEFAULT_OPT_IN_RULE.covers(category, is_template=True)
    else:
        assert verdict.allowed and verdict.policy is None
