"""`record_many` (the status processor's batch path) leaves the same messages, history and DRs
as `record` called once per status, on both backends."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from wanode.cli.bootstrap import ensure_defaults
from wanode.engine.reports import Failure, Recording, record, record_many
from wanode.messages import Text, render_payload
from wanode.store import Database
from wanode.store import messages as outbox
from wanode.store.tables import dr_deliveries

pytestmark = pytest.mark.asyncio


async def queue_texts(db: Database, app_id: str, count: int) -> list[dict[str, Any]]:
    """`count` text messages queued (7501 not yet), each as `outbox.get` reads it back."""
    rows = [
        {
            "transid": str(uuid.uuid4()),
            "app_id": app_id,
            "wa_id": f"49151000000{i:02d}",
            "destination": f"49151000000{i:02d}",
            "destination_type": "waid",
            "kind": "text",
            "payload": render_payload(Text("hi"), f"49151000000{i:02d}"),
            "notify_url": "http://127.0.0.1:9/dr",
        }
        for i in range(count)
    ]
    async with db.begin() as conn:
        await outbox.enqueue(conn, rows, at=1000.0)
        return [m for m in [await outbox.get(conn, r["transid"]) for r in rows] if m]


def _script(messages: list[dict[str, Any]], tag: str) -> list[Recording]:
    """Submitted, then sent/delivered/read in order, a duplicate, a late `delivered` after
    `read`, and a failure: every way a status may or may not move a message."""
    a, b, c = messages
    failure = Failure.from_meta(131026, "Message undeliverable", "not on WhatsApp")
    return [
        Recording(a, "submitted", 1001.0, wamid=f"wamid.{tag}.a"),
        Recording(b, "submitted", 1001.0, wamid=f"wamid.{tag}.b"),
        Recording(c, "submitted", 1001.0, wamid=f"wamid.{tag}.c"),
        Recording(a, "sent", 1002.0),
        Recording(a, "sent", 1002.0),
        Recording(a, "read", 1004.0),
        Recording(a, "delivered", 1003.0),
        Recording(b, "delivered", 1003.0, identity_key_hash="h"),
        Recording(c, "failed", 1002.0, failure=failure),
        Recording(c, "read", 1005.0),
    ]


async def _state(db: Database, messages: list[dict[str, Any]]) -> list[Any]:
    found: list[Any] = []
    async with db.begin() as conn:
        for m in messages:
            row = await outbox.get(conn, m["transid"])
            assert row is not None
            history = [
                (h["status"], h["occurred_at"]) for h in await outbox.history(conn, m["transid"])
            ]
            drs = await conn.execute(
                sa.select(dr_deliveries.c.status, dr_deliveries.c.body)
                .where(dr_deliveries.c.transid == m["transid"])
                .order_by(dr_deliveries.c.id)
            )
            found.append(
                (
                    {
                        k: row[k]
                        for k in ("status", "status_at", "wamid", "submitted_at", "error_code")
                    },
                    history,
                    [
                        (s, body["deliveryInfoNotification"]["deliveryInfo"]["code"])
                        for s, body in drs
                    ],
                )
            )
    return found


async def test_record_many_matches_record_one_by_one(db: Database) -> None:
    app = (await ensure_defaults(db, gateway="cloud")).app
    one_by_one = await queue_texts(db, app["id"], 3)
    batched = await queue_texts(db, app["id"], 3)
    flags: list[bool] = []
    for r in _script(one_by_one, "one"):
        async with db.begin() as conn:
            flags.append(
                await record(
                    conn,
                    r.message,
                    r.status,
                    at=r.at,
                    now=2000.0,
                    source="webhook",
                    failure=r.failure,
                    wamid=r.wamid,
                    identity_key_hash=r.identity_key_hash,
                )
            )
    async with db.begin() as conn:
        batch_flags = await record_many(
            conn, _script(batched, "many"), now=2000.0, source="webhook"
        )
    assert batch_flags == flags == [True, True, True, True, False, True, False, True, True, False]
    mine = await _state(db, one_by_one)
    theirs = await _state(db, batched)
    # The wamids differ only because each set of messages is its own; compare the rest.
    for (row_a, hist_a, drs_a), (row_b, hist_b, drs_b) in zip(mine, theirs, strict=True):
        assert {**row_a, "wamid": None} == {**row_b, "wamid": None}
        assert hist_a == hist_b
        assert drs_a == drs_b
    assert [row["status"] for row, _h, _d in theirs] == ["read", "delivered", "failed"]
