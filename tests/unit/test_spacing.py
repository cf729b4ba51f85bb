"""`next_spacing`: how long a campaign loop lets wake-ups gather, from the rate its last pass
found work at."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wanode.engine.spacing import PASS_ITEMS, next_spacing

SHORTEST, LONGEST = 0.05, 0.2


def spacing(found: int, since_last: float) -> float:
    return next_spacing(found, since_last, shortest=SHORTEST, longest=LONGEST)


def test_a_campaign_keeps_the_shortest_spacing() -> None:
    # 500 sends a second: PASS_ITEMS come in 0.05 s.
    assert spacing(25, 0.05) == SHORTEST
    assert spacing(500, 0.05) == SHORTEST


def test_a_modest_rate_waits_for_a_pass_worth_of_work() -> None:
    # 200 a second: PASS_ITEMS come in 0.125 s.
    assert spacing(10, 0.05) == pytest.approx(PASS_ITEMS / 200)
    # 50 a second: they would take 0.5 s; the wait stops at the longest.
    assert spacing(10, 0.2) == LONGEST


def test_a_pass_that_found_nothing_says_nothing_of_a_rate() -> None:
    assert spacing(0, 0.01) == SHORTEST
    assert spacing(0, 60.0) == SHORTEST


def test_a_fixed_or_zero_spacing_stays_as_set() -> None:
    # A longest not above the shortest: the shortest, whatever the rate.
    assert next_spacing(1, 10.0, shortest=60.0, longest=0.2) == 60.0
    assert next_spacing(1, 10.0, shortest=0.05, longest=0.05) == 0.05
    # 0: every wake-up at once.
    assert next_spacing(1, 10.0, shortest=0.0, longest=0.2) == 0.0


@given(
    found=st.integers(min_value=-1, max_value=100_000),
    since_last=st.floats(min_value=0.0, max_value=3600.0),
    fewer=st.integers(min_value=1, max_value=1000),
)
def test_within_bounds_and_shorter_the_more_work_comes(
    found: int, since_last: float, fewer: int
) -> None:
    wait = spacing(found, since_last)
    assert SHORTEST <= wait <= LONGEST
    if found > fewer:
        # More work in the same time: never a longer wait.
        assert wait <= spacing(fewer, since_last)
