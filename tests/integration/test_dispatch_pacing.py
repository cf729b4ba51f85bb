"""Pacing through the dispatcher itself, over the outbox: each limit spreads sends out, and no
message fails for it.

- A burst of 200 to one customer goes out by the pair rule (45 at once, then one per 6 s), on
  an injected clock: every held message is written back and claimed again when due.
- 10,000 messages to 10,000 customers keep under the number's rate in every second, on the
  real clock (at 1,000 msg/s, the top tier, so the test takes seconds).
- A campaign over the number's rate waits in the number's line: each message is held once at
  most, and messages queued later go after it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from tests.integration.test_pacing import Fixed, queue
from tests.support.harness import fast_settings

from wanode.cli.bootstrap import ensure_defaults
from wanode.engine import Engine
from wanode.engine.dispatcher import HOLD_GRID, LATE_AT_MOST, NUMBER_BURST
from wanode.gateway import MemoryGateway, SendResult
from wanode.gateway.base import Credentials
from wanode.messages import Text, render_payload
from wanode.store import Database
from wanode.store import messages as outbox
from wanode.store.tables import messages

pytestmark = pytest.mark.asyncio


@dataclass
class TimedGateway(MemoryGateway):
    """A memory gateway that notes the clock at every send."""

    clock: Callable[[], float] = time.time
    sent_at: list[float] = field(default_factory=list)

    async def send(
        self, creds: Credentials, payload: dict[str, Any], *, idempotency_key: str | None = None
    ) -> SendResult:
        self.sent_at.append(self.clock())
        return await super().send(creds, payload, idempotency_key=idempotency_key)


async def counts(db: Database) -> dict[str, int]:
    async with db.begin() as conn:
        rows = await conn.execute(
            sa.select(messages.c.status, sa.func.count()).group_by(messages.c.status)
        )
        return {status: int(n) for status, n in rows}


async def next_due(db: Database) -> float | None:
    async with db.begin() as conn:
        return await conn.scalar(
            sa.select(sa.func.min(messages.c.next_attempt_at)).where(messages.c.status == "queued")
        )


async def passes_until_sent(db: Database, engine: Engine, now: list[float], *, most: int) -> int:
    """Dispatcher passes, the injected clock `now` moved to the next held message's moment
    before each, until no message is queued; how many there were (fewer than `most`)."""
    passes = 0
    while (due := await next_due(db)) is not None:
        now[0] = max(now[0], due)
        await engine.dispatcher.run_once()
        passes += 1
        assert passes < most
    return passes


def busiest_window(times: list[float], width: float) -> int:
    """The most of the sorted `times` in any window (t - width, t], less a microsecond for
    float sums."""
    best = start = 0
    for end, at in enumerate(times):
        while times[start] <= at - width + 1e-6:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_a_burst_of_200_to_one_customer_spreads_out_by_the_pair_rule(
    db: Database,
) -> None:
    now = [1_000_000.0]
    memory = TimedGateway(clock=lambda: now[0])
    # The number's rate at the top tier, so that only the pair rule spreads the sends (the
    # burst's 45 slots fall within SLEEP_AT_MOST and are slept through, on a clock that stands).
    settings = fast_settings(db, pacing=True, pacing_number_mps=1000)
    engine = Engine(db, settings, Fixed(memory, settings), clock=lambda: now[0])
    app = (await ensure_defaults(db, gateway="cloud")).app
    try:
        await queue(db, app["id"], 200, now[0])
        await passes_until_sent(db, engine, now, most=2_000)
        assert await counts(db) == {"submitted": 200}
    finally:
        await engine.notify_client.aclose()
    sent = [t - 1_000_000.0 for t in memory.sent_at]
    interval, burst = settings.pacing_pair_interval, settings.pacing_pair_burst
    assert (interval, burst) == (6.0, 45)
    # 45 at once, then one every 6 s: the burst is paid back, never exceeded.
    assert sent[:burst] == [0.0] * burst
    assert [b - a for a, b in zip(sent[burst - 1 :], sent[burst:], strict=False)] == [
        pytest.approx(interval)
    ] * (200 - burst)
    for width in (6.0, 60.0, 600.0):
        assert busiest_window(sent, width) <= burst + int(width / interval)
    # Held, never failed and never counted as attempts.
    async with db.begin() as conn:
        rows = [await outbox.get(conn, transid) for transid in await _transids(conn)]
    assert {row["attempts"] for row in rows if row} == {1}


async def _transids(conn: Any) -> list[str]:
    return list(await conn.scalars(sa.select(messages.c.transid)))


async def campaign(db: Database, app_id: str, customers: range, at: float) -> list[str]:
    """One text to each of `customers` (numbered), queued at `at`; their transids, in order."""
    rows = [
        {
            "transid": f"t-{i:05d}",
            "app_id": app_id,
            "wa_id": f"49151{i:07d}",
            "destination": f"49151{i:07d}",
            "destination_type": "waid",
            "kind": "text",
            "payload": render_payload(Text("hi"), f"49151{i:07d}"),
        }
        for i in customers
    ]
    async with db.begin() as conn:
        await outbox.enqueue(conn, rows, at)
    return [row["transid"] for row in rows]


async def test_10000_customers_keep_under_the_number_rate_every_second(db: Database) -> None:
    rate = 1_000
    memory = TimedGateway()
    settings = fast_settings(db, pacing=True, pacing_number_mps=rate, dispatch_batch=500)
    engine = Engine(db, settings, Fixed(memory, settings))
    app = (await ensure_defaults(db, gateway="cloud")).app
    await campaign(db, app["id"], range(10_000), time.time())
    try:
        while (await counts(db)).get("queued"):
            await engine.dispatcher.run_once()
    finally:
        await engine.notify_client.aclose()
    assert await counts(db) == {"submitted": 10_000}
    sent = sorted(memory.sent_at)
    # Each send leaves within LATE_AT_MOST of its slot, and slots keep the rate (with the
    # burst of 2 sharing one instant).
    assert busiest_window(sent, 1.0) <= rate + NUMBER_BURST - 1 + round(rate * LATE_AT_MOST)


async def test_a_campaign_over_the_number_rate_waits_in_the_numbers_line(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """240 messages at 80 msg/s, then 40 more once the first held ones came back, on an
    injected clock that jumps to the next held message: the first pass sends what the next
    0.5 s allows and holds the rest, each at its own place in the number's line, so every
    message is claimed twice at most (today's claim, then its place's), and the 40 queue
    behind the 240 instead of taking the number's free slots ahead of them."""
    now = [1_000_000.0]
    memory = TimedGateway(clock=lambda: now[0])
    settings = fast_settings(db, pacing=True, pacing_number_mps=80)
    engine = Engine(db, settings, Fixed(memory, settings), clock=lambda: now[0])
    app = (await ensure_defaults(db, gateway="cloud")).app
    claims: Counter[str] = Counter()
    claim = outbox.claim

    async def counted(conn: Any, **kwargs: Any) -> list[dict[str, Any]]:
        claimed = await claim(conn, **kwargs)
        claims.update(message["transid"] for message in claimed)
        return claimed

    monkeypatch.setattr(outbox, "claim", counted)
    try:
        first = await campaign(db, app["id"], range(240), now[0])
        # Passes of a batch each, on a clock that stands: all 240 are sent or held.
        while await next_due(db) == now[0]:
            await engine.dispatcher.run_once()
        # The first held step comes back and takes the number's next 0.25 s; the 0.25 s after
        # them are free, and the 40 queued now could take them, ahead of the 200 still held.
        now[0] = await next_due(db) or now[0]
        await engine.dispatcher.run_once()
        later = await campaign(db, app["id"], range(240, 280), now[0])
        passes = await passes_until_sent(db, engine, now, most=200)
        assert await counts(db) == {"submitted": 280}
    finally:
        await engine.notify_client.aclose()
    # The first pass's burst of 2 and the 40 slots of its next 0.5 s went at once (on a clock
    # that stands); the rest waited.
    assert len(memory.sent_at) == 280 and memory.sent_at.count(1_000_000.0) == 42
    assert set(claims) == {*first, *later}
    assert max(claims.values()) == 2
    # The later 40 queued behind the first 240: none went in an earlier pass (at an earlier
    # moment of the clock) than any of the 240. (Within one pass, the messages of one grid
    # step go in any order.)
    at = {
        sent.payload["to"]: moment for sent, moment in zip(memory.sent, memory.sent_at, strict=True)
    }
    assert min(at[f"49151{i:07d}"] for i in range(240, 280)) >= max(
        at[f"49151{i:07d}"] for i in range(240)
    )
    # The held messages came back a grid step's worth to a pass: 280 messages at 80 msg/s
    # take 3.5 s, some 14 steps, not a pass per message.
    assert passes <= 3.5 / HOLD_GRID + 8
    async with db.begin() as conn:
        rows = [await outbox.get(conn, transid) for transid in [*first, *later]]
    assert {row["attempts"] for row in rows if row} == {1}
