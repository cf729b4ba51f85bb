"""What every limiter backend must do with reservations (`Limiter.acquire(reserve_within=)`),
run against the in-process limiter and against Redis."""

from __future__ import annotations

import random

import pytest

from wanode.pacing import Limiter, Rate

APPROX = 1e-5


async def check_reservations(limiter: Limiter) -> None:
    """Slots ahead are taken in turn; a refusal takes nothing; a late caller gets the next
    free slot, never one already reserved."""
    number = Rate.per_second(10)
    pair = Rate(6.0, 45)
    buckets = [("n", number), ("p", pair)]
    waits = [await limiter.acquire(buckets, 50.0, reserve_within=0.55) for _ in range(8)]
    assert waits[:6] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], abs=APPROX)
    # The seventh slot is 0.6 s off: refused, twice, and neither refusal took it.
    assert waits[6:] == pytest.approx([0.6, 0.6], abs=APPROX)
    # At 50.55 the slots up to 50.5 are spoken for: the next is at 50.6.
    assert await limiter.acquire(buckets, 50.55, reserve_within=0.0) == pytest.approx(
        0.05, abs=APPROX
    )
    assert await limiter.acquire(buckets, 50.55, reserve_within=0.06) == pytest.approx(
        0.05, abs=APPROX
    )
    # The pair bucket was charged once per reservation (7), never for a refusal: 38 of its 45
    # are left.
    left = [await limiter.acquire([("p", pair)], 50.6) for _ in range(40)]
    assert left.count(0.0) == 38


async def check_reserved_slots_keep_the_rate(limiter: Limiter) -> None:
    """Callers arriving at random moments, each reserving up to 0.5 s ahead: the slots they
    were given never put more than `rate + burst - 1` into any one second."""
    rate = Rate.per_second(50, burst=2)
    rng = random.Random(8)
    now, slots = 1000.0, []
    for _ in range(2_000):
        now += rng.expovariate(80.0)  # offered faster than the rate
        wait = await limiter.acquire([("n", rate)], now, reserve_within=0.5)
        if wait <= 0.5:
            slots.append(now + wait)
    slots.sort()
    busiest, start = 0, 0
    for end, at in enumerate(slots):
        # (at - 1 s, at], less a microsecond for the float sums of 1/rate.
        while slots[start] <= at - 1.0 + 1e-6:
            start += 1
        busiest = max(busiest, end - start + 1)
    assert busiest <= 51
    # Offered 80/s against 50/s: the limiter granted about the rate, not less.
    assert len(slots) / (now - 1000.0) == pytest.approx(50.0, rel=0.05)


async def check_line(limiter: Limiter) -> None:
    """Sends the number cannot take soon take places in its line one interval apart; a new
    send queues behind them, one back from its place does not; a pair that keeps its send
    back longer takes no place, and the line does not move for it."""
    number = Rate.per_second(10)
    pair = Rate(6.0, 45)

    async def line_up(pair_key: str, now: float, *, placed: bool = False) -> float:
        return await limiter.line_up(
            [("n", number), (pair_key, pair)],
            now,
            reserve_within=0.55,
            line="n:line",
            placed=placed,
        )

    waits = [await line_up(f"p{i}", 50.0) for i in range(8)]
    # Six slots within 0.55 s are taken; the next two get places at 50.6 and 50.7.
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], abs=APPROX)
    # A pair held for 6 s (its burst spent) takes no place: the next send gets 50.8.
    await limiter.block("q", pair, 56.0, 50.0)
    assert await line_up("q", 50.0) == pytest.approx(6.0, abs=APPROX)
    assert await line_up("p8", 50.0) == pytest.approx(0.8, abs=APPROX)
    # Back at its place, a held send takes the number's next slot.
    assert await line_up("p6", 50.6, placed=True) == pytest.approx(0.0, abs=APPROX)
    # A new send at 50.6 is behind the line (its end is 50.9): within 0.55 s, so it takes the
    # slot there; the sends after it take the bucket's next slots while those are within
    # 0.55 s, and then a place again.
    assert await line_up("p9", 50.6) == pytest.approx(0.3, abs=APPROX)
    assert await line_up("p10", 50.6) == pytest.approx(0.4, abs=APPROX)
    assert await line_up("p11", 50.6) == pytest.approx(0.5, abs=APPROX)
    assert await line_up("p12", 50.6) == pytest.approx(0.6, abs=APPROX)
    # Once every place has passed, the line is empty: a send goes by the buckets alone.
    assert await line_up("p13", 60.0) == 0.0
