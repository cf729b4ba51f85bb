"""The messaging tier's decision: pure arithmetic over the rolling window's counts."""

from __future__ import annotations

import pytest

from wanode.pacing.tier import TIER_WINDOW, TIERS, TierDecision, counts_toward_tier, decide

NOW = 1_000_000.0


def test_below_the_tier_a_new_customer_is_allowed() -> None:
    assert decide(250, reached=249, oldest=NOW - 10, now=NOW) == TierDecision.allow()
    assert decide(250, reached=0, oldest=None, now=NOW).allowed


def test_at_the_tier_a_new_customer_waits_for_the_oldest_place() -> None:
    decision = decide(250, reached=250, oldest=NOW - 3600, now=NOW)
    assert decision == TierDecision.hold(NOW - 3600 + TIER_WINDOW)
    assert not decision.allowed


def test_a_clock_that_stepped_back_never_holds_into_the_past() -> None:
    assert decide(1, reached=1, oldest=NOW - 2 * TIER_WINDOW, now=NOW).retry_at == NOW


@pytest.mark.parametrize("reached", [0, 10**6])
def test_unlimited_allows_everything(reached: int) -> None:
    assert decide(None, reached=reached, oldest=NOW, now=NOW).allowed


def test_meta_tiers() -> None:
    assert TIERS == (250, 2_000, 10_000, 100_000, None)


@pytest.mark.parametrize(
    ("is_template", "last_inbound_at", "counts"),
    [
        (True, None, True),  # never wrote
        (True, NOW - TIER_WINDOW, True),  # the window closed exactly now
        (True, NOW - TIER_WINDOW + 1, False),  # still open: replies do not count
        (False, None, False),  # free-form messages cannot reach anyone outside the window
        (False, NOW - 60, False),
    ],
)
def test_only_templates_outside_the_window_count(
    is_template: bool, last_inbound_at: float | None, counts: bool
) -> None:
    assert (
        counts_toward_tier(is_template=is_template, last_inbound_at=last_inbound_at, now=NOW)
        is counts
    )
