"""`normalise_number` remembers valid numbers, and only those: a refusal still names its
field each time, and the settings that decide validity are part of what is remembered."""

from __future__ import annotations

import pytest

from wanode.messages import InvalidMessage
from wanode.policy import normalise_number, numbers


def test_a_valid_number_is_remembered_and_answers_the_same() -> None:
    numbers._KNOWN.clear()
    first = normalise_number("+49 151 1234 5678", require_e164=False, field="a")
    assert first == "4915112345678"
    assert numbers._KNOWN[("+49 151 1234 5678", False, None)] == first
    assert normalise_number("+49 151 1234 5678", require_e164=False, field="b") == first


def test_the_settings_are_part_of_the_key() -> None:
    numbers._KNOWN.clear()
    assert normalise_number("4915112345678", require_e164=False) == "4915112345678"
    # The same text under +E.164 rules is refused, cached or not.
    with pytest.raises(InvalidMessage, match="must start with"):
        normalise_number("4915112345678", require_e164=True)
    assert normalise_number("07911 123456", require_e164=False, default_region="GB") == (
        "447911123456"
    )
    assert normalise_number("07911123456", require_e164=False, default_region="GB") == (
        "447911123456"
    )
    with pytest.raises(InvalidMessage):
        normalise_number("07911123456", require_e164=False)


def test_refusals_are_not_remembered_and_name_their_field() -> None:
    numbers._KNOWN.clear()
    for field in ("destination[0].waid[0]", "to"):
        with pytest.raises(InvalidMessage) as refused:
            normalise_number("12ab", require_e164=False, field=field)
        assert refused.value.field == field
    assert numbers._KNOWN == {}


def test_the_cache_is_bounded() -> None:
    numbers._KNOWN.clear()
    numbers._KNOWN.update({(str(i), False, None): str(i) for i in range(numbers.KNOWN_MAX)})
    normalise_number("+4915112345678", require_e164=False)
    assert numbers._KNOWN == {("+4915112345678", False, None): "4915112345678"}
