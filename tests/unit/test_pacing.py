"""The token-bucket arithmetic and the in-process limiter, with an injected clock."""

from __future__ import annotations

import bisect
import itertools

import pytest
from tests.support.pacing import (
    check_line,
    check_reservations,
    check_reserved_slots_keep_the_rate,
)

from wanode.pacing import LocalLimiter, Rate, blocked_until, take_all

PAIR = Rate(6.0, 45)
NUMBER = Rate.per_second(80)


def test_a_burst_to_one_customer_spreads_out_by_the_pair_rule() -> None:
    tats: dict[str, float] = {}
    sent: list[float] = []
    now = 1000.0
    while len(sent) < 200:
        wait, updated = take_all(tats, [("pair", PAIR)], now)
        if wait:
            # Saying wait takes nothing.
            assert updated == {} and take_all(tats, [("pair", PAIR)], now)[0] == wait
            now += wait
            continue
        tats.update(updated)
        sent.append(now)
    assert sent[:45] == [1000.0] * 45
    gaps = [b - a for a, b in itertools.pairwise(sent[44:])]
    assert all(gap == pytest.approx(6.0) for gap in gaps)
    assert sent[45] == pytest.approx(1006.0)


def test_a_burst_is_paid_back_by_quiet() -> None:
    tats: dict[str, float] = {}
    for _ in range(20):
        wait, updated = take_all(tats, [("pair", PAIR)], 0.0)
        assert wait == 0
        tats.update(updated)
    # 20 at once need 20 * 6 s to be whole again: after 60 s only 10 of them are back.
    ok = 0
    while True:
        wait, updated = take_all(tats, [("pair", PAIR)], 60.0)
        if wait:
            break
        tats.update(updated)
        ok += 1
    assert ok == 45 - 10


def test_ten_thousand_customers_stay_under_the_number_rate_every_second() -> None:
    tats: dict[str, float] = {}
    sent: list[float] = []
    now = 5000.0
    for customer in range(10_000):
        buckets = [("number", NUMBER), (f"pair:{customer}", PAIR)]
        wait, updated = take_all(tats, buckets, now)
        if wait:
            now += wait
            wait, updated = take_all(tats, buckets, now)
        assert wait == 0
        tats.update(updated)
        sent.append(now)
    # Every 1-second window starting at a send holds at most 80 sends.
    for index, start in enumerate(sent):
        assert bisect.bisect_left(sent, start + 1.0 - 1e-9) - index <= 80
    assert sent[-1] - sent[0] == pytest.approx(9999 / 80)


def test_all_or_nothing_across_buckets() -> None:
    tats = {"pair": 100.0 + PAIR.tolerance + 3.0}
    wait, updated = take_all(tats, [("number", NUMBER), ("pair", PAIR)], 100.0)
    assert wait == pytest.approx(3.0) and updated == {}
    assert "number" not in tats


def test_blocking_empties_a_bucket_until_then_and_never_loosens_it() -> None:
    tat = blocked_until(None, PAIR, 50.0)
    assert take_all({"p": tat}, [("p", PAIR)], 49.0)[0] == pytest.approx(1.0)
    assert take_all({"p": tat}, [("p", PAIR)], 50.0)[0] == 0
    assert blocked_until(tat + 100, PAIR, 50.0) == tat + 100


def test_rates_are_validated() -> None:
    with pytest.raises(ValueError):
        Rate(0.0)
    with pytest.raises(ValueError):
        Rate(1.0, 0)


async def test_local_limiter_takes_only_when_it_says_go() -> None:
    limiter = LocalLimiter()
    buckets = [("n", Rate.per_second(2)), ("p", Rate(6.0, 2))]
    assert await limiter.acquire(buckets, 10.0) == 0
    assert await limiter.acquire(buckets, 10.0) == pytest.approx(0.5)
    assert await limiter.acquire(buckets, 10.0) == pytest.approx(0.5)
    assert await limiter.acquire(buckets, 10.5) == 0
    # The pair's burst of 2 is spent: its next slot is at 10 + 2 * 6 - 6.
    assert await limiter.acquire(buckets, 11.0) == pytest.approx(5.0)
    await limiter.block("n", Rate.per_second(2), 30.0, 11.0)
    assert await limiter.acquire(buckets, 22.0) == pytest.approx(8.0)
    await limiter.aclose()


async def test_local_limiter_reserves_slots_ahead() -> None:
    await check_reservations(LocalLimiter())


async def test_local_reserved_slots_keep_the_rate() -> None:
    await check_reserved_slots_keep_the_rate(LocalLimiter())


async def test_local_held_sends_wait_in_the_numbers_line() -> None:
    await check_line(LocalLimiter())
