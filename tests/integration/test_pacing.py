"""Pacing in the dispatcher: held messages stay queued without an attempt; 131056 backs off."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from tests.support.harness import fast_settings

from wanode.cli.bootstrap import ensure_defaults
from wanode.engine import Engine, Gateways
from wanode.gateway import Gateway, MemoryGateway, Rejected
from wanode.messages import Text, render_payload
from wanode.store import Database
from wanode.store import messages as outbox

pytestmark = pytest.mark.asyncio

WA_ID = "4915112345678"


class Fixed(Gateways):
    def __init__(self, gateway: Gateway, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = gateway

    def for_app(self, app: dict[str, Any]) -> Gateway:
        return self.gateway


async def queue(db: Database, app_id: str, count: int, at: float) -> list[str]:
    transids = [str(uuid.uuid4()) for _ in range(count)]
    async with db.begin() as conn:
        await outbox.enqueue(
            conn,
            [
                {
                    "transid": transid,
                    "app_id": app_id,
                    "wa_id": WA_ID,
                    "destination": WA_ID,
                    "destination_type": "waid",
                    "kind": "text",
                    "payload": render_payload(Text("hi"), WA_ID),
                    "notify_url": "http://127.0.0.1:9/dr",
                }
                for transid in transids
            ],
            at=at,
        )
    return transids


async def states(db: Database, transids: list[str]) -> list[tuple[str, int]]:
    async with db.begin() as conn:
        rows = [await outbox.get(conn, transid) for transid in transids]
    return [(row["status"], row["attempts"]) for row in rows if row is not None]


async def test_held_messages_stay_queued_then_go_when_the_pair_allows(db: Database) -> None:
    now = [1000.0]
    memory = MemoryGateway()
    settings = fast_settings(db, pacing_pair_burst=2, pacing_pair_interval=6.0)
    engine = Engine(db, settings, Fixed(memory, settings), clock=lambda: now[0])
    app = (await ensure_defaults(db, gateway="cloud")).app
    try:
        transids = await queue(db, app["id"], 3, now[0])
        # The pair's burst of 2 goes at once; the third is held for the pair's interval.
        assert await engine.dispatcher.run_once() == 3
        assert len(memory.sent) == 2
        for _ in range(2):
            now[0] += 0.1
            await engine.dispatcher.run_once()
        assert len(memory.sent) == 2
        held = [
            t for t, s in zip(transids, await states(db, transids), strict=True) if s[0] == "queued"
        ]
        assert len(held) == 1
        assert await states(db, held) == [("queued", 0)]
        async with db.begin() as conn:
            message = await outbox.get(conn, held[0])
        assert message is not None and message["error_code"] is None
        assert message["next_attempt_at"] == pytest.approx(1006.0)

        now[0] = 1003.0
        assert await engine.dispatcher.run_once() == 0  # not due yet
        now[0] += 3
        assert await engine.dispatcher.run_once() == 1
        assert len(memory.sent) == 3
        assert await states(db, held) == [("submitted", 1)]
    finally:
        await engine.notify_client.aclose()


async def test_pacing_off_sends_everything_at_once(db: Database) -> None:
    memory = MemoryGateway()
    settings = fast_settings(db, pacing=False, pacing_pair_burst=1)
    engine = Engine(db, settings, Fixed(memory, settings), clock=lambda: 1000.0)
    app = (await ensure_defaults(db, gateway="cloud")).app
    try:
        await queue(db, app["id"], 3, 1000.0)
        assert await engine.dispatcher.run_once() == 3
        assert len(memory.sent) == 3
    finally:
        await engine.notify_client.aclose()


async def test_pair_limit_backs_off_4_to_the_x(db: Database) -> None:
    now = [1000.0]
    memory = MemoryGateway()
    # A pair interval over SLEEP_AT_MOST: the dispatcher holds the second send instead of
    # reserving its slot and sleeping until it (the injected clock would not move).
    settings = fast_settings(db, dispatch_max_attempts=8, pacing_pair_interval=0.75)
    engine = Engine(db, settings, Fixed(memory, settings), clock=lambda: now[0])
    app = (await ensure_defaults(db, gateway="cloud")).app
    pair_limit = Rejected(
        131056, "(Business Account, Consumer Account) pair rate limit hit", "", 400, True
    )
    try:
        (transid,) = await queue(db, app["id"], 1, now[0])
        memory.script.extend([pair_limit] * 3)
        delays = []
        for _ in range(3):
            assert await engine.dispatcher.run_once() == 1
            async with db.begin() as conn:
                message = await outbox.get(conn, transid)
            assert message is not None and message["status"] == "queued"
            assert message["error_code"] == 131056
            delays.append(message["next_attempt_at"] - now[0])
            now[0] = message["next_attempt_at"]
        assert delays == [pytest.approx(1.0), pytest.approx(4.0), pytest.approx(16.0)]

        # Another message to the same pair is held meanwhile, not sent into another 131056.
        now[0] -= 15
        (other,) = await queue(db, app["id"], 1, now[0])
        assert await engine.dispatcher.run_once() == 1
        assert await states(db, [other]) == [("queued", 0)]
        async with db.begin() as conn:
            message = await outbox.get(conn, other)
        assert message is not None and message["next_attempt_at"] == pytest.approx(now[0] + 15)
        now[0] += 15
        sent_before = len(memory.sent)
        assert await engine.dispatcher.run_once() == 2
        assert len(memory.sent) == sent_before + 1  # one slot: the pair's bucket is empty
    finally:
        await engine.notify_client.aclose()


async def test_throughput_limit_stops_the_whole_number(db: Database) -> None:
    now = [1000.0]
    memory = MemoryGateway()
    settings = fast_settings(db, dispatch_backoff_base=0.1)
    engine = Engine(db, settings, Fixed(memory, settings), clock=lambda: now[0])
    app = (await ensure_defaults(db, gateway="cloud")).app
    try:
        (first,) = await queue(db, app["id"], 1, now[0])
        memory.script.append(Rejected(130429, "Rate limit hit", "slow down", 400, True))
        assert await engine.dispatcher.run_once() == 1
        assert await states(db, [first]) == [("queued", 1)]
        now[0] += 0.4
        # Due again, but the number is stopped for a second: held without an attempt (0.6 s
        # is longer than the dispatcher sleeps through).
        assert await engine.dispatcher.run_once() == 1
        assert await states(db, [first]) == [("queued", 1)]
        now[0] += 0.6
        assert await engine.dispatcher.run_once() == 1
        assert await states(db, [first]) == [("submitted", 2)]
    finally:
        await engine.notify_client.aclose()
