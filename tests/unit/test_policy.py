"""Send policies: every verdict, with injected clocks, and their boundaries."""

from __future__ import annotations

from datetime import datetime

import pytest

from wanode.codes import DR_CODES, META_CODES, SYNC
from wanode.codes.webex import HASH_MISMATCH, MESSAGE_EXPIRED, NOT_CONSENTED, RE_ENGAGEMENT
from wanode.messages import InvalidMessage
from wanode.policy import (
    DEFAULT_OPT_IN_RULE,
    MAX_EXPIRY_SECONDS,
    WINDOW_SECONDS,
    ContactState,
    OptInRule,
    OptInState,
    OptInStatus,
    Outgoing,
    Policy,
    Verdict,
    check_send,
    expired,
    identity,
    identity_changed,
    normalise_number,
    opt_in,
    parse_expiry,
    window,
    window_open,
)

NOW = 1_750_000_000.0
HOUR = 3600.0
OPTED_IN = OptInState(OptInStatus.OPTED_IN, source="web form", opted_in_at=NOW - 10 * 86400)
OPTED_OUT = OptInState(
    OptInStatus.OPTED_OUT, source="STOP keyword", opted_in_at=NOW - 9 * 86400, opted_out_at=NOW
)
UNKNOWN = OptInState()


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# --- Verdict ---------------------------------------------------------------------------


def test_allowed_verdict_carries_no_code() -> None:
    verdict = Verdict.allow(Policy.WINDOW, "fine")
    assert verdict.allowed and verdict.code is None and verdict.dr is None
    assert verdict.policy is Policy.WINDOW


def test_refused_verdict_carries_its_codes() -> None:
    verdict = Verdict.refuse(Policy.EXPIRY, MESSAGE_EXPIRED, "late", field="expiry", sync="7005")
    assert not verdict.allowed
    assert (verdict.code, verdict.sync, verdict.field) == ("7705", "7005", "expiry")


@pytest.mark.parametrize("allowed, dr", [(True, MESSAGE_EXPIRED), (False, None)])
def test_verdict_refuses_inconsistent_codes(allowed: bool, dr: object) -> None:
    with pytest.raises(ValueError):
        Verdict(allowed, "x", Policy.EXPIRY, dr)  # type: ignore[arg-type]


def test_verdict_is_frozen() -> None:
    verdict = Verdict.allow(None, "ok")
    with pytest.raises(AttributeError):
        verdict.allowed = False  # type: ignore[misc]


def test_registry_holds_the_opt_in_code_with_the_reference_wording() -> None:
    assert DR_CODES["9002"] is NOT_CONSENTED
    assert NOT_CONSENTED.description == "Recipient has not consented to message"
    assert NOT_CONSENTED.delivery_status == "Failed"
    assert SYNC.DESCRIPTIONS[SYNC.NOT_CONSENTED] == "Recipient has not consented to message"


# --- 24-hour window ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "elapsed, is_open",
    [
        (0.0, True),
        (1.0, True),
        (23 * HOUR, True),
        (WINDOW_SECONDS - 0.001, True),
        (WINDOW_SECONDS, False),  # exactly 24 h: closed
        (WINDOW_SECONDS + 0.001, False),
        (30 * 86400, False),
        (-60.0, True),  # inbound stamped a minute ahead of our clock
    ],
)
def test_window_boundaries(elapsed: float, is_open: bool) -> None:
    assert window_open(NOW - elapsed, NOW) is is_open
    assert window(NOW - elapsed, NOW, is_template=False).allowed is is_open


def test_window_never_opened_without_an_inbound_message() -> None:
    assert not window_open(None, NOW)
    verdict = window(None, NOW, is_template=False)
    assert not verdict.allowed
    assert "never written" in verdict.reason


def test_window_refusal_is_re_engagement() -> None:
    verdict = window(NOW - 25 * HOUR, NOW, is_template=False)
    assert verdict.policy is Policy.WINDOW
    assert verdict.dr is RE_ENGAGEMENT and verdict.code == "7710"
    assert verdict.meta is META_CODES[131047]
    assert verdict.sync is None
    assert verdict.field == "type"
    assert "25.0 hours ago" in verdict.reason and "template" in verdict.reason


@pytest.mark.parametrize("last", [None, NOW - 25 * HOUR, NOW - WINDOW_SECONDS])
def test_templates_go_outside_the_window(last: float | None) -> None:
    verdict = window(last, NOW, is_template=True)
    assert verdict.allowed and verdict.policy is Policy.WINDOW


def test_inside_the_window_anything_goes() -> None:
    assert window(NOW - HOUR, NOW, is_template=False).allowed
    assert window(NOW - HOUR, NOW, is_template=True).allowed


# --- opt-in ------------------------------------------------------------------------------


def test_default_rule_is_the_specs() -> None:
    assert DEFAULT_OPT_IN_RULE.categories == {"MARKETING", "UTILITY", "AUTHENTICATION"}
    assert DEFAULT_OPT_IN_RULE.outside_window_only


@pytest.mark.parametrize("category", ["MARKETING", "UTILITY", "AUTHENTICATION", "marketing"])
def test_templates_outside_the_window_need_an_opt_in(category: str) -> None:
    verdict = opt_in(DEFAULT_OPT_IN_RULE, UNKNOWN, category=category, window_open=False)
    assert not verdict.allowed
    assert verdict.dr is NOT_CONSENTED and verdict.code == "9002"
    assert verdict.sync == SYNC.NOT_CONSENTED == "9002"
    assert verdict.policy is Policy.OPT_IN and verdict.field == "destination"
    assert category.upper() in verdict.reason and "no opt-in" in verdict.reason


def test_opted_in_contact_gets_templates_outside_the_window() -> None:
    verdict = opt_in(DEFAULT_OPT_IN_RULE, OPTED_IN, category="MARKETING", window_open=False)
    assert verdict.allowed
    assert "web form" in verdict.reason and "2025-06-05T15:06:40Z" in verdict.reason


def test_inside_the_window_the_default_rule_needs_no_opt_in() -> None:
    verdict = opt_in(DEFAULT_OPT_IN_RULE, UNKNOWN, category="UTILITY", window_open=True)
    assert verdict.allowed and "only outside" in verdict.reason


def test_an_opt_out_holds_inside_the_window_too() -> None:
    for window_is_open in (True, False):
        verdict = opt_in(
            DEFAULT_OPT_IN_RULE, OPTED_OUT, category="MARKETING", window_open=window_is_open
        )
        assert not verdict.allowed and verdict.code == "9002"
        assert "opted out at 2025-06-15T15:06:40Z" in verdict.reason
        assert "STOP keyword" in verdict.reason


@pytest.mark.parametrize("state", [UNKNOWN, OPTED_OUT, OPTED_IN])
@pytest.mark.parametrize("window_is_open", [True, False])
def test_free_form_messages_need_no_opt_in(state: OptInState, window_is_open: bool) -> None:
    verdict = opt_in(DEFAULT_OPT_IN_RULE, state, category=None, window_open=window_is_open)
    assert verdict.allowed and "free-form" in verdict.reason


def test_a_rule_can_cover_fewer_categories() -> None:
    rule = OptInRule(frozenset({"marketing"}))
    assert rule.categories == {"MARKETING"}
    assert opt_in(rule, UNKNOWN, category="UTILITY", window_open=False).allowed
    assert opt_in(rule, OPTED_OUT, category="AUTHENTICATION", window_open=False).allowed
    assert not opt_in(rule, UNKNOWN, category="MARKETING", window_open=False).allowed


def test_an_empty_rule_turns_the_check_off() -> None:
    rule = OptInRule(frozenset())
    for category in ("MARKETING", None, "SOMETHING"):
        assert opt_in(rule, OPTED_OUT, category=category, window_open=False).allowed
    assert opt_in(rule, UNKNOWN, category=None, window_open=False, is_template=True).allowed


def test_a_rule_can_need_opt_in_inside_the_window_too() -> None:
    rule = OptInRule(outside_window_only=False)
    verdict = opt_in(rule, UNKNOWN, category="MARKETING", window_open=True)
    assert not verdict.allowed and "outside the 24-hour window" not in verdict.reason
    assert opt_in(rule, OPTED_IN, category="MARKETING", window_open=True).allowed


def test_rule_refuses_unknown_categories() -> None:
    with pytest.raises(ValueError, match="SERVICE"):
        OptInRule(frozenset({"MARKETING", "service"}))


@pytest.mark.parametrize("category", [None, "", "NEWSLETTER"])
def test_a_template_of_unknown_category_is_covered(category: str | None) -> None:
    verdict = opt_in(
        DEFAULT_OPT_IN_RULE, UNKNOWN, category=category, window_open=False, is_template=True
    )
    assert not verdict.allowed and verdict.code == "9002"
    assert opt_in(
        DEFAULT_OPT_IN_RULE, OPTED_IN, category=category, window_open=False, is_template=True
    ).allowed


def test_opt_in_reason_survives_absurd_times() -> None:
    state = OptInState(OptInStatus.OPTED_OUT, opted_out_at=1e300)
    verdict = opt_in(DEFAULT_OPT_IN_RULE, state, category="MARKETING", window_open=False)
    assert not verdict.allowed and "1e+300" in verdict.reason


# --- expiry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2015-04-12T13:00:19.456Z", ts("2015-04-12T13:00:19.456+00:00")),
        ("2015-04-12T13:00:19+00:00", ts("2015-04-12T13:00:19+00:00")),
        ("2015-04-12T13:00:19", ts("2015-04-12T13:00:19+00:00")),  # no offset: UTC
        ("2015-04-12 13:00:19", ts("2015-04-12T13:00:19+00:00")),
        ("2015-04-12T18:30:19+05:30", ts("2015-04-12T13:00:19+00:00")),  # converted
        ("2015-04-12T08:00:19-05:00", ts("2015-04-12T13:00:19+00:00")),
        ("20150412T130019Z", ts("2015-04-12T13:00:19+00:00")),
        ("  2015-04-12T13:00:19Z  ", ts("2015-04-12T13:00:19+00:00")),
    ],
)
def test_expiry_as_utc_time(value: str, expected: float) -> None:
    assert parse_expiry(value, NOW) == expected


def test_expiry_in_the_past_is_accepted_and_then_expired() -> None:
    expires_at = parse_expiry("2015-04-12T13:00:19Z", NOW)
    assert expires_at is not None
    assert not expired(expires_at, NOW).allowed


@pytest.mark.parametrize(
    "value, seconds",
    [(1, 1), (300, 300), ("300", 300), (" 45 ", 45), ("+60", 60), ("007", 7)],
)
def test_expiry_as_seconds_from_acceptance(value: int | str, seconds: int) -> None:
    assert parse_expiry(value, NOW) == NOW + seconds


def test_expiry_seconds_bounds() -> None:
    assert parse_expiry(MAX_EXPIRY_SECONDS, NOW) == NOW + 30 * 86400
    assert parse_expiry(str(MAX_EXPIRY_SECONDS), NOW) == NOW + 30 * 86400
    for too_many in (MAX_EXPIRY_SECONDS + 1, str(MAX_EXPIRY_SECONDS + 1), 10**5000, "9" * 5000):
        with pytest.raises(InvalidMessage, match="at most 2592000 seconds"):
            parse_expiry(too_many, NOW)
    for not_positive in (0, -1, "0", "-5", -(10**5000), "-" + "9" * 5000):
        with pytest.raises(InvalidMessage, match="positive"):
            parse_expiry(not_positive, NOW)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_expiry(value: str | None) -> None:
    assert parse_expiry(value, NOW) is None


@pytest.mark.parametrize(
    "value, reason",
    [
        ("2015-04-12", "no time of day"),
        ("20150412", "at most"),  # digits only are seconds
        ("tomorrow", "no time of day"),
        ("2015-13-12T13:00:19Z", "not an ISO 8601 UTC time"),
        ("2019-23-04 03:06:48 AM", "not an ISO 8601 UTC time"),
        ("12.5", "no time of day"),
        ("T" + "x" * 100, "'Txxxxxxxxx"),
        (True, "whole number of seconds"),
        (1.5, "whole number of seconds"),
        (300.0, "whole number of seconds"),
        (["300"], "whole number of seconds"),
    ],
)
def test_bad_expiry(value: object, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_expiry(value, NOW, field="messages[0].expiry")  # type: ignore[arg-type]
    assert caught.value.field == "messages[0].expiry"
    assert caught.value.code == SYNC.INVALID_VALUE
    assert reason in caught.value.reason
    assert len(caught.value.reason) < 200


def test_expired_boundaries() -> None:
    assert expired(None, NOW).allowed
    assert expired(NOW + 1, NOW).allowed
    assert expired(NOW, NOW).allowed  # at the instant: not yet beyond it
    verdict = expired(NOW - 0.5, NOW)
    assert not verdict.allowed
    assert verdict.dr is MESSAGE_EXPIRED and verdict.code == "7705"
    assert verdict.policy is Policy.EXPIRY and verdict.field == "expiry"
    assert verdict.sync is None and verdict.meta is None
    assert "0.500 seconds" in verdict.reason


# --- identity hash -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "expected, current, changed",
    [
        (None, None, False),
        (None, "h1", False),
        ("", "h1", False),
        ("h1", None, False),
        ("h1", "", False),
        ("h1", "h1", False),
        ("h1", "h2", True),
        ("h1", "H1", True),  # base64: case matters
    ],
)
def test_identity(expected: str | None, current: str | None, changed: bool) -> None:
    assert identity_changed(expected, current) is changed
    verdict = identity(expected, current)
    assert verdict.allowed is not changed
    assert verdict.policy is Policy.IDENTITY


def test_identity_mismatch_verdict() -> None:
    verdict = identity("DF2lS5v2W6x=", "8VVabc=")
    assert verdict.dr is HASH_MISMATCH and verdict.code == "7862"
    assert verdict.meta is META_CODES[137000]
    assert verdict.field == "identity_key_hash" and "identity_key_hash" in verdict.reason


def test_identity_unknown_current_hash_is_left_to_whatsapp() -> None:
    assert "WhatsApp decides" in identity("h1", None).reason


# --- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, kwargs, wa_id",
    [
        ("+16505551234", {"require_e164": True}, "16505551234"),
        (" +16505551234 ", {"require_e164": True}, "16505551234"),
        ("+4915112345678", {"require_e164": True}, "4915112345678"),
        ("+919876543210", {"require_e164": True, "default_region": "GB"}, "919876543210"),
        ("16505551234", {"require_e164": False}, "16505551234"),
        ("+16505551234", {"require_e164": False}, "16505551234"),
        ("+1 (650) 555-1234", {"require_e164": False}, "16505551234"),
        ("1-650-555-1234", {"require_e164": False}, "16505551234"),
        ("+44 (0) 7911 123456", {"require_e164": False}, "447911123456"),  # trunk 0 dropped
        ("07911 123456", {"require_e164": False, "default_region": "GB"}, "447911123456"),
        ("07911 123456", {"require_e164": False, "default_region": "gb"}, "447911123456"),
        ("447911123456", {"require_e164": False, "default_region": "GB"}, "447911123456"),
        ("0044 7911 123456", {"require_e164": False, "default_region": "DE"}, "447911123456"),
        ("+919876543210", {"require_e164": False, "default_region": "GB"}, "919876543210"),
        ("(650) 555-1234", {"require_e164": False, "default_region": "US"}, "16505551234"),
        ("650.555.1234", {"require_e164": False, "default_region": "US"}, "16505551234"),
        ("+687 75.12.34", {"require_e164": False}, "687751234"),
        ("+80012345678", {"require_e164": False}, "80012345678"),
    ],
)
def test_normalise_number(raw: str, kwargs: dict[str, object], wa_id: str) -> None:
    assert normalise_number(raw, **kwargs) == wa_id  # type: ignore[arg-type]


def test_tolerant_numbers_need_only_a_possible_length() -> None:
    """Unassigned but well-formed numbers pass without +E.164 enforcement: WhatsApp decides."""
    assert normalise_number("+1 555 010 0001", require_e164=False) == "15550100001"
    assert normalise_number("+44 7700 900123", require_e164=False) == "447700900123"


@pytest.mark.parametrize(
    "raw, kwargs, reason",
    [
        ("16505551234", {"require_e164": True}, "must start with + and the country code"),
        ("+1 650 555 1234", {"require_e164": True}, "digits only"),
        ("+1-650-555-1234", {"require_e164": True}, "digits only"),
        ("+1.650.555.1234", {"require_e164": True}, "digits only"),
        ("+", {"require_e164": True}, "digits only"),
        ("+4407911123456", {"require_e164": True}, "did you mean +447911123456?"),
        ("+123456", {"require_e164": True}, "7 to 15 digits"),
        ("+1234567890123456", {"require_e164": True}, "7 to 15 digits"),
        ("+0123456789", {"require_e164": True}, "known country code"),
        ("+15550100001", {"require_e164": True}, "not a valid phone number for region US"),
        ("+999123456789", {"require_e164": False}, "known country code"),
        ("+447700900123", {"require_e164": True}, "not a valid phone number for region GB"),
        ("+1555010", {"require_e164": False}, "not a valid phone number for region US"),
        ("+80012", {"require_e164": False}, "7 to 15 digits"),
        ("+800123456789", {"require_e164": False}, "for country code +800"),
        ("123456", {"require_e164": False}, "7 to 15 digits"),
        ("+", {"require_e164": False}, "7 to 15 digits"),
        ("abc", {"require_e164": False}, "only digits, spaces, dashes, dots, brackets"),
        ("1-800-FLOWERS", {"require_e164": False}, "only digits"),
        ("tel:+16505551234", {"require_e164": False}, "only digits"),
        ("16505551234 ext 5", {"require_e164": False}, "only digits"),
        ("+1+6505551234", {"require_e164": False}, "only digits"),
        (  # fullwidth digits
            "\uff11\uff16\uff15\uff10\uff15\uff15\uff15\uff11\uff12\uff13\uff14",
            {"require_e164": False},
            "only digits",
        ),
        ("919876543210", {"require_e164": False, "default_region": "GB"}, "for region GB"),
        ("()", {"require_e164": False, "default_region": "GB"}, "not a phone number"),
    ],
)
def test_bad_numbers(raw: str, kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        normalise_number(raw, **kwargs)  # type: ignore[arg-type]
    assert reason in caught.value.reason
    assert caught.value.code == SYNC.INVALID_VALUE
    assert caught.value.field == "destination"


@pytest.mark.parametrize("require_e164", [True, False])
@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_number_is_missing(raw: str, require_e164: bool) -> None:
    with pytest.raises(InvalidMessage) as caught:
        normalise_number(raw, require_e164=require_e164, field="destination[0].waid[2]")
    assert caught.value.code == SYNC.MANDATORY_MISSING
    assert caught.value.field == "destination[0].waid[2]"


def test_unknown_default_region_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="'XX'") as caught:
        normalise_number("07911 123456", require_e164=False, default_region="XX")
    assert not isinstance(caught.value, InvalidMessage)


# --- check_send --------------------------------------------------------------------------

IN_WINDOW = NOW - HOUR
OUT_OF_WINDOW = NOW - 2 * WINDOW_SECONDS


def test_check_send_allows_a_reply_in_the_window() -> None:
    verdict = check_send(ContactState(IN_WINDOW), Outgoing(is_template=False), now=NOW)
    assert verdict.allowed and verdict.policy is None


def test_check_send_allows_a_template_to_an_opted_in_contact() -> None:
    contact = ContactState(OUT_OF_WINDOW, OPTED_IN)
    assert check_send(contact, Outgoing(True, "MARKETING", NOW + 60), now=NOW).allowed


def test_expiry_is_checked_first() -> None:
    contact = ContactState(None, OPTED_OUT)  # would also fail window and opt-in
    verdict = check_send(contact, Outgoing(False, None, NOW - 1), now=NOW)
    assert verdict.code == "7705" and verdict.policy is Policy.EXPIRY
    verdict = check_send(contact, Outgoing(True, "MARKETING", NOW - 1), now=NOW)
    assert verdict.code == "7705"


def test_window_comes_before_opt_in() -> None:
    verdict = check_send(ContactState(OUT_OF_WINDOW, OPTED_OUT), Outgoing(False), now=NOW)
    assert verdict.code == "7710" and verdict.policy is Policy.WINDOW


def test_opt_in_is_checked_last() -> None:
    verdict = check_send(ContactState(OUT_OF_WINDOW), Outgoing(True, "UTILITY", NOW), now=NOW)
    assert verdict.code == "9002" and verdict.policy is Policy.OPT_IN


def test_check_send_opt_in_follows_the_window_at_its_boundary() -> None:
    template = Outgoing(True, "AUTHENTICATION")
    just_inside = ContactState(NOW - WINDOW_SECONDS + 1)
    assert check_send(just_inside, template, now=NOW).allowed
    at_boundary = ContactState(NOW - WINDOW_SECONDS)
    assert check_send(at_boundary, template, now=NOW).code == "9002"
    assert check_send(at_boundary, Outgoing(False), now=NOW).code == "7710"


def test_check_send_uses_the_apps_rule() -> None:
    contact = ContactState(OUT_OF_WINDOW)
    template = Outgoing(True, "UTILITY")
    assert not check_send(contact, template, now=NOW).allowed
    assert check_send(contact, template, now=NOW, rule=OptInRule(frozenset({"MARKETING"}))).allowed


def test_check_send_treats_a_template_of_unknown_category_as_covered() -> None:
    verdict = check_send(ContactState(OUT_OF_WINDOW), Outgoing(True), now=NOW)
    assert verdict.code == "9002" and "templates outside" in verdict.reason


def test_check_send_ignores_identity() -> None:
    # The identity hash is advisory: WhatsApp fails a mismatch itself (137000 -> 7862).
    assert "identity" in (check_send.__doc__ or "")
    assert check_send(ContactState(IN_WINDOW), Outgoing(False), now=NOW).allowed
