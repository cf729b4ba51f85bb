"""An engine loop's passes at a modest rate: a pass that took all that was due is not followed by
one that finds nothing, a full pass is followed at once, and wake-ups that come close together
are served by one pass (`pass_spacing`, and at a steady modest rate up to `pass_spacing_max`),
with nothing left behind.

The loops run for real over the database (SQLite and PostgreSQL) and the sandbox; each test
counts the dispatcher's passes and what each claimed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from tests.support.harness import Harness, running, wait_until

from wanode.engine import Engine
from wanode.store import Database

pytestmark = pytest.mark.asyncio

# Far beyond each test: only wake-ups (and full passes) bring passes.
NO_POLL = {"poll_interval": 60.0, "idle_poll_max": 60.0}


def _claims(engine: Engine) -> list[int]:
    """What each of the dispatch loop's passes claimed, in order (wrapped before it starts)."""
    claims: list[int] = []
    pump: Callable[[], Awaitable[int]] = engine.dispatcher.pump

    async def counted() -> int:
        claimed = await pump()
        claims.append(claimed)
        return claimed

    engine.dispatcher.pump = counted  # type: ignore[method-assign]
    return claims


async def _queue(wn: Harness, count: int, *, gap: float = 0.0) -> list[str]:
    transids = []
    for i in range(count):
        response = await wn.client.post(
            "/resources/v1/messaging",
            json={
                "appid": wn.app_id,
                "deliverychannel": "whatsapp",
                "destination": [{"waid": [f"1555123{i:04d}"]}],
                "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "hi"}}}},
            },
        )
        assert response.status_code == 200, response.text
        transids.append(response.json()["response"][0]["transid"])
        if gap:
            await asyncio.sleep(gap)
    return transids


async def test_a_pass_that_took_all_that_was_due_is_not_followed_by_an_empty_one(
    db: Database,
) -> None:
    async with running(db, start_engine=False, pass_spacing=0.0, **NO_POLL) as wn:
        engine = wn.ctx.engine
        claims = _claims(engine)
        engine.start()
        try:
            [transid] = await _queue(wn, 1)
            await wn.wait_status(transid, "read")
            # Room for a pass that should not come (a wake-up would bring it at once).
            await asyncio.sleep(0.3)
        finally:
            await engine.stop()
    # The pass at start found nothing; the wake-up's pass took the message, and no pass
    # followed to find the outbox empty.
    assert claims == [0, 1]


async def test_a_full_pass_is_followed_at_once_whatever_the_spacing(db: Database) -> None:
    # A spacing far beyond the test: only going straight on after a full pass sends them all.
    async with running(
        db, start_engine=False, dispatch_batch=2, pass_spacing=60.0, **NO_POLL
    ) as wn:
        engine = wn.ctx.engine
        transids = await _queue(wn, 5)  # queued before the loops start
        claims = _claims(engine)
        engine.start()
        try:
            for transid in transids:
                # Sent (other loops' passes wait out the spacing: the statuses may not move).
                await wait_until(
                    lambda transid=transid: wn.message(transid),
                    lambda message: message["wamid"] is not None,
                    timeout=10,
                    what=f"{transid} to be sent",
                )
        finally:
            await engine.stop()
    assert claims[:3] == [2, 2, 1]


async def _stream(db: Database, count: int, gap: float, **settings: float) -> list[int]:
    """What each dispatch pass claimed while `count` requests came `gap` seconds apart (each
    waking the dispatch loop), all of them then read."""
    async with running(db, start_engine=False, **settings, **NO_POLL) as wn:
        engine = wn.ctx.engine
        claims = _claims(engine)
        engine.start()
        try:
            transids = await _queue(wn, count, gap=gap)
            for transid in transids:
                await wn.wait_status(transid, "read")
        finally:
            await engine.stop()
    return claims


async def test_wake_ups_close_together_share_a_pass_and_nothing_is_left_behind(
    db: Database,
) -> None:
    count = 8
    # The requests come far closer together than the spacing.
    claims = await _stream(db, count, 0.01, pass_spacing=1.0)
    assert sum(claims) == count
    # Without the spacing: a pass per request (and after each, one finding nothing).
    assert len(claims) < count, claims
    assert max(claims) > 1, claims


async def test_a_steady_modest_rate_gathers_several_messages_to_a_pass(db: Database) -> None:
    """Requests every 20 ms, each waking the dispatch loop: a 10 ms spacing alone would serve
    nearly each one by a pass of its own, but the loop finds work coming at some 50 a second
    and waits for a pass's worth (`spacing.next_spacing`), up to `pass_spacing_max`."""
    count = 24
    claims = await _stream(db, count, 0.02, pass_spacing=0.01, pass_spacing_max=1.0)
    assert sum(claims) == count
    # Gathered: far fewer passes than messages (a slower machine spaces the requests further
    # and the passes with them, so it gathers no less).
    assert len(claims) <= count // 3, claims
    assert max(claims) >= 4, claims


async def test_the_flows_loop_keeps_its_own_shorter_spacing(db: Database) -> None:
    """A customer's reply is not held for the campaign loops' spacing: the flows loop serves
    a wake-up after `flow_pass_spacing`, however long `pass_spacing` is."""
    async with running(
        db, start_engine=False, pass_spacing=60.0, flow_pass_spacing=0.0, **NO_POLL
    ) as wn:
        engine = wn.ctx.engine
        passes: list[int] = []
        step = engine.flows.run_once

        async def counted() -> int:
            done = await step()
            passes.append(done)
            return done

        engine.flows.run_once = counted  # type: ignore[method-assign]
        engine.start()
        try:
            await wait_until(lambda: _len(passes), lambda n: n >= 1, timeout=10, what="a pass")
            for expected in (2, 3):
                engine.wake("flows")  # each well within the 60 s of the campaign loops
                await wait_until(
                    lambda: _len(passes),
                    lambda n, expected=expected: n >= expected,
                    timeout=10,
                    what=f"flow pass {expected}",
                )
        finally:
            await engine.stop()


async def _len(items: list[int]) -> int:
    return len(items)
