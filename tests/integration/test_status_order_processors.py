"""Two status processors over one PostgreSQL database (two `wanode serve` processes) apply a
message's statuses in order: a `read` never goes before a `delivered` another processor's
transaction holds, so every message gets 7501, 7500, 7502.

The race (the "2 wanode processes" lifecycle bench lost a 7500 to it): `ready` locks a join
row's status and then its message with `SKIP LOCKED`. Processor B, finding a message held by
A, skipped its `delivered` but kept that row locked until B's transaction ended. A's next
pass found the message free, skipped the locked `delivered` and applied the `read` behind it;
the `delivered` then moved nothing and no 7500 was reported.

PostgreSQL only: on SQLite a process runs its transactions one after the other and locks no
rows, so no status can be skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import fresh_database
from tests.integration.test_record_many import queue_texts

from wanode.cli.bootstrap import ensure_defaults
from wanode.config import Settings
from wanode.engine.processor import StatusProcessor
from wanode.engine.reports import Recording, record_many
from wanode.store import Database
from wanode.store import messages as outbox
from wanode.store import statuses as inbox
from wanode.store.tables import dr_deliveries, webhook_statuses

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def pg(postgres_available: None, tmp_path: object) -> AsyncIterator[Database]:
    async with fresh_database("postgresql", tmp_path) as database:
        yield database


async def _submitted(db: Database, count: int) -> list[dict[str, Any]]:
    """`count` messages accepted by the gateway (7501 queued), each with its wamid."""
    app = (await ensure_defaults(db, gateway="cloud")).app
    messages = await queue_texts(db, app["id"], count)
    async with db.begin() as conn:
        await record_many(
            conn,
            [Recording(m, "submitted", 1001.0, wamid=f"wamid.{m['transid']}") for m in messages],
            now=1001.0,
            source="gateway",
        )
    return messages


async def _webhook(db: Database, message: dict[str, Any], status: str, at: float) -> None:
    """What the receiver stores for a status webhook (committed)."""
    async with db.begin() as conn:
        await inbox.store_many(
            conn,
            [
                {
                    "phone_number_id": "100000000000001",
                    "wamid": f"wamid.{message['transid']}",
                    "status": status,
                    "occurred_at": at,
                    "recipient_id": message["wa_id"],
                    "received_at": at,
                }
            ],
        )


async def _codes(db: Database, transid: str) -> list[str]:
    async with db.begin() as conn:
        rows = await conn.execute(
            sa.select(dr_deliveries.c.body)
            .where(dr_deliveries.c.transid == transid)
            .order_by(dr_deliveries.c.id)
        )
        return [body["deliveryInfoNotification"]["deliveryInfo"]["code"] for (body,) in rows]


async def test_read_waits_for_a_delivered_another_processor_skipped(pg: Database) -> None:
    (message,) = await _submitted(pg, 1)
    processor = StatusProcessor(pg, Settings(), clock=lambda: 2000.0)
    await _webhook(pg, message, "sent", 1002.0)

    async with pg.engine.connect() as a, pg.engine.connect() as b:
        # Processor A's pass holds the `sent` and its message...
        held = await inbox.ready(a, limit=500)
        assert [r["status"] for r in held] == ["sent"]
        await _webhook(pg, message, "delivered", 1003.0)
        # ... so processor B's pass skips the `delivered`, but keeps it locked while its
        # transaction lasts (its message's lock was the one it could not have).
        assert await inbox.ready(b, limit=500) == []
        await a.rollback()
        # Delivered and read in the same second: ordered by arrival.
        await _webhook(pg, message, "read", 1003.0)
        # A's next pass: the message is free, the `delivered` is not; the `read` behind it
        # waits.
        assert await processor.run_once() == 1
        async with pg.begin() as conn:
            current = await outbox.get(conn, message["transid"])
            assert current is not None
            assert current["status"] == "sent"
            left = await conn.execute(
                sa.select(webhook_statuses.c.status).order_by(webhook_statuses.c.id)
            )
            assert [s for (s,) in left] == ["delivered", "read"]
        await b.rollback()
    # B's transaction ended: the next pass applies both, in order.
    assert await processor.run_once() == 2
    async with pg.begin() as conn:
        current = await outbox.get(conn, message["transid"])
        assert current is not None
        assert current["status"] == "read"
        history = [h["status"] for h in await outbox.history(conn, message["transid"])]
        assert history == ["queued", "submitted", "sent", "delivered", "read"]
    assert await _codes(pg, message["transid"]) == ["7501", "7500", "7502"]


async def test_concurrent_processors_report_every_status_once_in_order(pg: Database) -> None:
    """Statuses arriving while two processors (small batches) run at once: each message's
    DRs are 7501, 7500, 7502, once each."""
    messages = await _submitted(pg, 60)
    processors = [
        StatusProcessor(pg, Settings(), clock=lambda: 2000.0, batch=batch) for batch in (7, 5)
    ]
    arrived = asyncio.Event()

    async def arrive() -> None:
        # Each message's statuses in order, messages interleaved, as WhatsApp sends them.
        for status, at in [("sent", 1002.0), ("delivered", 1003.0), ("read", 1003.0)]:
            for m in messages:
                await _webhook(pg, m, status, at)
                await asyncio.sleep(0)
        arrived.set()

    async def process(processor: StatusProcessor) -> None:
        while True:
            done = await processor.run_once()
            if not done:
                if arrived.is_set() and not await _left(pg):
                    return
                await asyncio.sleep(0.001)

    await asyncio.wait_for(asyncio.gather(arrive(), *(process(p) for p in processors)), timeout=120)
    for m in messages:
        assert await _codes(pg, m["transid"]) == ["7501", "7500", "7502"]


async def _left(db: Database) -> int:
    async with db.begin() as conn:
        count = await conn.execute(sa.select(sa.func.count()).select_from(webhook_statuses))
        return int(count.scalar_one())


async def test_read_before_delivered_reports_the_delivery_first_and_once(db: Database) -> None:
    """WhatsApp may skip `delivered` (read at once) or send it late: a `read` for a message
    never marked delivered reports 7500, then 7502; the late `delivered` reports nothing."""
    first, second = await _submitted(db, 2)
    processor = StatusProcessor(db, Settings(), clock=lambda: 2000.0)
    await _webhook(db, first, "sent", 1002.0)
    await _webhook(db, first, "read", 1004.0)
    # The second's `delivered` comes after its `read` in the same batch (out of order).
    await _webhook(db, second, "read", 1004.0)
    await _webhook(db, second, "delivered", 1005.0)
    assert await processor.run_once() == 4
    await _webhook(db, first, "delivered", 1003.0)
    assert await processor.run_once() == 1
    async with db.begin() as conn:
        for m in (first, second):
            current = await outbox.get(conn, m["transid"])
            assert current is not None
            assert (current["status"], current["status_at"]) == ("read", 1004.0)
        history = [
            (h["status"], h["occurred_at"]) for h in await outbox.history(conn, first["transid"])
        ]
        assert history == [
            ("queued", 1000.0),
            ("submitted", 1001.0),
            ("sent", 1002.0),
            ("read", 1004.0),
            ("delivered", 1004.0),
        ]
        history = [
            (h["status"], h["occurred_at"]) for h in await outbox.history(conn, second["transid"])
        ]
        # One `delivered`, dated as the 7500 reports it (as if it had come in a later batch).
        assert history == [
            ("queued", 1000.0),
            ("submitted", 1001.0),
            ("read", 1004.0),
            ("delivered", 1004.0),
        ]
    for m in (first, second):
        assert await _codes(db, m["transid"]) == ["7501", "7500", "7502"]
    async with db.begin() as conn:
        rows = await conn.execute(
            sa.select(dr_deliveries.c.body).where(
                dr_deliveries.c.transid == first["transid"], dr_deliveries.c.status == "delivered"
            )
        )
        (body,) = rows.one()
    # The implied delivery is dated with the read.
    info = body["deliveryInfoNotification"]["deliveryInfo"]
    assert info["timeStamp"] == datetime.fromtimestamp(1004.0, UTC).isoformat(
        timespec="milliseconds"
    )
