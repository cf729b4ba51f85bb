"""The Redis limiter against a real Redis: the same buckets, shared by several limiters.

Unreachable Redis skips these tests locally and fails them when CI is set.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis
from tests.support.pacing import (
    check_line,
    check_reservations,
    check_reserved_slots_keep_the_rate,
)

from wanode.pacing import Rate
from wanode.pacing.redis_limiter import RedisLimiter

REDIS_URL = os.environ.get("WANODE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PAIR = Rate(6.0, 45)
NUMBER = Rate.per_second(80)


@pytest.fixture
async def make_limiter() -> AsyncIterator[Callable[[], RedisLimiter]]:
    """Limiters sharing one fresh key prefix; its keys are deleted afterwards."""
    probe = aioredis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:
        await probe.aclose()
        # Like the PostgreSQL tests: never skipped; a missing server fails them, here and in CI.
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({type(exc).__name__}: {exc}). Start it "
            "(see the README) or point WANODE_TEST_REDIS_URL at one.",
            pytrace=False,
        )
    prefix = f"wanode-test:{uuid.uuid4().hex}:"
    made: list[RedisLimiter] = []

    def make() -> RedisLimiter:
        limiter = RedisLimiter(aioredis.from_url(REDIS_URL), prefix=prefix)
        made.append(limiter)
        return limiter

    try:
        yield make
    finally:
        keys = [key async for key in probe.scan_iter(match=prefix + "*")]
        if keys:
            await probe.delete(*keys)
        await probe.aclose()
        for limiter in made:
            await limiter.aclose()


async def test_a_burst_to_one_customer_spreads_out_by_the_pair_rule(
    make_limiter: Callable[[], RedisLimiter],
) -> None:
    limiter = make_limiter()
    sent: list[float] = []
    now = 1000.0
    while len(sent) < 200:
        wait = await limiter.acquire([("pair", PAIR)], now)
        if wait:
            assert await limiter.acquire([("pair", PAIR)], now) == pytest.approx(wait)
            now += wait
            continue
        sent.append(now)
    assert sent[:45] == [1000.0] * 45
    gaps = [b - a for a, b in itertools.pairwise(sent[44:])]
    assert all(gap == pytest.approx(6.0, abs=1e-5) for gap in gaps)


async def test_many_customers_stay_under_the_number_rate_every_second(
    make_limiter: Callable[[], RedisLimiter],
) -> None:
    limiter = make_limiter()
    sent: list[float] = []
    now = 5000.0
    for customer in range(2_000):
        buckets = [("number", NUMBER), (f"pair:{customer}", PAIR)]
        wait = await limiter.acquire(buckets, now)
        if wait:
            now += wait
            assert await limiter.acquire(buckets, now) == 0
        sent.append(now)
    for index, start in enumerate(sent):
        in_window = sum(1 for t in sent[index : index + 100] if t < start + 1.0 - 1e-6)
        assert in_window <= 80
    assert sent[-1] - sent[0] == pytest.approx(1999 / 80, abs=1e-3)


async def test_two_limiters_share_one_budget(make_limiter: Callable[[], RedisLimiter]) -> None:
    first, second = make_limiter(), make_limiter()
    pair = Rate(6.0, 3)
    granted = [await (first if i % 2 else second).acquire([("p", pair)], 10.0) for i in range(5)]
    assert granted[:3] == [0, 0, 0]
    assert granted[3:] == [pytest.approx(6.0, abs=1e-5)] * 2
    # A limiter that says wait takes nothing, from anyone.
    assert await first.acquire([("p", pair)], 16.0) == 0
    assert await second.acquire([("p", pair)], 16.0) == pytest.approx(6.0, abs=1e-5)


async def test_all_or_nothing_and_blocking(make_limiter: Callable[[], RedisLimiter]) -> None:
    limiter = make_limiter()
    await limiter.block("pair", PAIR, 103.0, 100.0)
    assert await limiter.acquire([("number", NUMBER), ("pair", PAIR)], 100.0) == pytest.approx(
        3.0, abs=1e-5
    )
    # The number bucket was not touched by the refused call: 80 fit at once... one by one.
    assert await limiter.acquire([("number", NUMBER)], 100.0) == 0
    assert await limiter.acquire([("number", NUMBER), ("pair", PAIR)], 103.0) == 0
    # Blocking never loosens a bucket.
    await limiter.block("pair", PAIR, 50.0, 103.0)
    assert await limiter.acquire([("pair", PAIR)], 103.0) == pytest.approx(6.0, abs=1e-5)


async def test_redis_limiter_reserves_slots_ahead(
    make_limiter: Callable[[], RedisLimiter],
) -> None:
    await check_reservations(make_limiter())


async def test_redis_reserved_slots_keep_the_rate(
    make_limiter: Callable[[], RedisLimiter],
) -> None:
    await check_reserved_slots_keep_the_rate(make_limiter())


async def test_redis_held_sends_wait_in_the_numbers_line(
    make_limiter: Callable[[], RedisLimiter],
) -> None:
    await check_line(make_limiter())
