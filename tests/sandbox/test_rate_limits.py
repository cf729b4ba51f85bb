"""Meta's rate limits in the sandbox (cloud-api.md §9): a number's throughput (130429) and the
pair limit to one user (131056), both refused synchronously (§8), both on the sandbox's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from tests.sandbox.bench import (
    FAST,
    NUMBER,
    USER,
    Bench,
    Clock,
    Receiver,
    assert_meta_error,
    text_payload,
)
from tests.support import openapi

from wanode.sandbox import Sandbox, SandboxConfig

OTHER_USER = "16505550000"


@asynccontextmanager
async def limited_bench(receiver: Receiver, clock: Clock, **limits: Any) -> AsyncIterator[Bench]:
    """Like `open_bench`, with rate limits; every webhook must match Meta's document."""
    config = SandboxConfig(
        default_handset=FAST,
        webhook_retries=3,
        webhook_retry_base=0.01,
        template_review_delay=0.0,
        enforce_window=False,
        # Only the limits the test names.
        **{"throughput_mps": None, "pair_limit": False, **limits},
    )
    sandbox = Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app), clock=clock)
    sandbox.provision(NUMBER)
    transport = httpx.ASGITransport(app=sandbox.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            yield Bench(sandbox, client, receiver)
            await Bench(sandbox, client, receiver).settle()
    finally:
        await sandbox.aclose()
    assert receiver.bad_signatures == 0
    assert receiver.openapi_errors() == []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def throttled(receiver: Receiver, clock: Clock) -> AsyncIterator[Bench]:
    async with limited_bench(receiver, clock, throughput_mps=10) as bench:
        yield bench


@pytest.fixture
async def paired(receiver: Receiver, clock: Clock) -> AsyncIterator[Bench]:
    async with limited_bench(receiver, clock, pair_limit=True) as bench:
        yield bench


async def sent(bench: Bench, to: str = USER) -> str:
    response = await bench.send(text_payload("hello", to=to))
    assert response.status_code == 200, response.json()
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


def assert_refused(response: httpx.Response, code: int, title: str) -> None:
    error = assert_meta_error(response, code, 400)
    assert error["message"] == f"(#{code}) {title}"
    assert openapi.errors(response.json(), "GraphAPIError") == []


def assert_rate_limited(response: httpx.Response) -> None:
    assert_refused(response, 130429, "Rate limit hit")


def assert_pair_limited(response: httpx.Response) -> None:
    assert_refused(response, 131056, "(Business Account, Consumer Account) pair rate limit hit")


def test_limits_are_on_at_metas_defaults() -> None:
    config = SandboxConfig()
    assert config.throughput_mps == 80
    assert config.pair_limit is True
    # `wanode serve`'s and `wanode sandbox`'s too (the suite's environment lifts them).
    from wanode.config import Settings

    assert Settings.model_fields["sandbox_throughput_mps"].default == 80
    assert Settings.model_fields["sandbox_pair_limit"].default is True


@pytest.mark.parametrize("mps", [0, -1.0, float("inf"), float("nan"), True])
def test_throughput_must_be_positive(mps: float) -> None:
    with pytest.raises(ValueError, match="throughput_mps"):
        SandboxConfig(throughput_mps=mps)


async def test_lifted_limits_let_everything_through(receiver: Receiver, clock: Clock) -> None:
    async with limited_bench(receiver, clock) as bench:
        for _ in range(100):
            await sent(bench)


async def test_eleventh_send_in_a_second_is_refused(throttled: Bench, clock: Clock) -> None:
    wamids = [await sent(throttled, to=f"1650555{n:04d}") for n in range(10)]
    refused = await throttled.send()
    assert_rate_limited(refused)
    clock.advance(0.1)
    wamids.append(await sent(throttled))
    await throttled.settle()
    # Accepted messages go their usual way; the refused one left no trace.
    for wamid in wamids:
        assert [s["status"] for s in throttled.receiver.statuses(wamid)] == [
            "sent",
            "delivered",
            "read",
        ]
    assert len(throttled.receiver.statuses()) == 3 * len(wamids)
    assert len(await throttled.inbox()) == 1


async def test_a_refused_send_takes_no_quota(throttled: Bench, clock: Clock) -> None:
    for _ in range(10):
        await sent(throttled)
    for _ in range(5):
        assert_rate_limited(await throttled.send())
    clock.advance(0.1)
    await sent(throttled)
    assert_rate_limited(await throttled.send())
    clock.advance(0.1)
    await sent(throttled)


async def test_throughput_is_sustained_not_reset(throttled: Bench, clock: Clock) -> None:
    """After the burst, one message per 0.1 s: a bucket, not a per-second counter."""
    for _ in range(10):
        await sent(throttled)
    for _ in range(20):
        clock.advance(0.1)
        await sent(throttled)
        assert_rate_limited(await throttled.send())
    clock.advance(1.0)
    for _ in range(10):
        await sent(throttled)
    assert_rate_limited(await throttled.send())


async def test_received_messages_use_the_quota(throttled: Bench) -> None:
    for n in range(10):
        response = await throttled.client.post(
            f"/handsets/{USER}/send",
            json={"phone_number_id": NUMBER.phone_number_id, "text": f"hi {n}"},
        )
        assert response.status_code == 201, response.json()
    assert_rate_limited(await throttled.send())


async def test_pair_limit_allows_a_burst_of_45(paired: Bench, clock: Clock) -> None:
    for _ in range(45):
        await sent(paired)
    assert_pair_limited(await paired.send())
    clock.advance(6)
    await sent(paired)
    # The burst borrowed from the future: 6 s later buys exactly one more.
    assert_pair_limited(await paired.send())
    clock.advance(5.9)
    assert_pair_limited(await paired.send())
    clock.advance(0.1)
    await sent(paired)


async def test_pair_limit_is_per_recipient(paired: Bench) -> None:
    for _ in range(45):
        await sent(paired)
    assert_pair_limited(await paired.send())
    for _ in range(45):
        await sent(paired, to=OTHER_USER)
    assert_pair_limited(await paired.send(text_payload("hello", to=OTHER_USER)))


async def test_burst_is_paid_back_by_quiet(paired: Bench, clock: Clock) -> None:
    """A burst of 20 needs ~2 minutes of quiet before the full 45 are available again."""
    for _ in range(20):
        await sent(paired)
    clock.advance(60)
    for _ in range(35):
        await sent(paired)
    assert_pair_limited(await paired.send())
    clock.advance(20 * 6)
    for _ in range(20):
        await sent(paired)
    assert_pair_limited(await paired.send())


async def test_number_limit_is_reported_before_the_pair_limit(
    receiver: Receiver, clock: Clock
) -> None:
    async with limited_bench(receiver, clock, throughput_mps=80, pair_limit=True) as bench:
        for _ in range(45):
            await sent(bench)
        pair = await bench.send()
        assert_pair_limited(pair)
        assert "retry in 6.000 s" in pair.json()["error"]["error_data"]["details"]
        for n in range(35):
            await sent(bench, to=f"1650555{n:04d}")
        assert_rate_limited(await bench.send())
        clock.advance(1 / 80)
        # The number has room again; the pair still does not.
        assert_pair_limited(await bench.send())
        await sent(bench, to=OTHER_USER)


def test_settings_reach_the_sandbox() -> None:
    from wanode.cli.bootstrap import build_sandbox
    from wanode.config import Settings

    sandbox = build_sandbox(Settings(sandbox_throughput_mps=80, sandbox_pair_limit=True))
    assert (sandbox.config.throughput_mps, sandbox.config.pair_limit) == (80, True)
    # 0 lifts a limit, as an environment variable can say it.
    lifted = build_sandbox(
        Settings(sandbox_throughput_mps=0, sandbox_pair_limit=False, sandbox_marketing_limit=0)
    )
    assert (lifted.config.throughput_mps, lifted.config.pair_limit) == (None, False)
    assert lifted.config.marketing_limit is None
