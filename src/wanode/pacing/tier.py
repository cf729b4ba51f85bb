"""The messaging tier: how many *new customers* an app may reach with templates in a rolling
24 hours (reference/cloud-api.md §9: 250 / 2,000 / 10,000 / 100,000 / unlimited). Pure: the
counts and the time are passed in; `wanode.store.reach` keeps the set, durably.

Definitions, as wanode counts them:

- a send *counts toward the tier* when it is a template and the customer's 24-hour window is
  closed (replies inside an open window do not count, nor can free-form messages be sent
  outside one);
- the app's *reached set* holds each customer such a send went to, with the time of the
  latest one; a customer stays in it for 24 hours after that send, so the set's size is the
  number of unique customers reached in the last 24 hours, which is what Meta limits;
- a *new customer* is one not in the set: sending to them takes a place, sending again to a
  customer already in it takes none (and keeps them in it 24 hours longer).

A full set holds a new customer's template until its oldest entry is 24 hours old and leaves
the set: the window rolls, a place frees up, the message goes.
"""

from __future__ import annotations

from dataclasses import dataclass

from wanode.policy.window import window_open

TIER_WINDOW = 24 * 60 * 60
# Meta's tiers (cloud-api.md §9); None is unlimited. Any positive limit is accepted, so a
# portfolio's tier can be split between the apps that share it.
TIERS: tuple[int | None, ...] = (250, 2_000, 10_000, 100_000, None)


@dataclass(frozen=True)
class TierDecision:
    """`allowed`, or held until `retry_at` (when the oldest place in the set frees up)."""

    allowed: bool
    retry_at: float | None = None

    @classmethod
    def allow(cls) -> TierDecision:
        return cls(True)

    @classmethod
    def hold(cls, retry_at: float) -> TierDecision:
        return cls(False, retry_at)


def counts_toward_tier(*, is_template: bool, last_inbound_at: float | None, now: float) -> bool:
    """Whether a send reaches the customer outside the 24-hour window with a template."""
    return is_template and not window_open(last_inbound_at, now)


def window_start(now: float) -> float:
    """Entries reached at or before this moment have left the rolling window."""
    return now - TIER_WINDOW


def decide(limit: int | None, *, reached: int, oldest: float | None, now: float) -> TierDecision:
    """May one more *new* customer be reached, with `reached` customers in the window (the
    oldest reached at `oldest`)? `limit` None is unlimited.
    """
    if limit is None or reached < limit:
        return TierDecision.allow()
    # `reached >= limit >= 1`, so the set is not empty and has an oldest entry.
    assert oldest is not None
    # The entry leaves the window strictly after 24 h (see `window_start`); `now` guards a
    # clock that stepped back.
    return TierDecision.hold(max(oldest + TIER_WINDOW, now))
