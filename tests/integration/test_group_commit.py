"""The API's submitter writes concurrent send requests together (group commit): every request
gets its own rows back, all are stored with their history, and a request whose rows cannot be
written fails alone. A lingering writer (the engine's, on SQLite) writes a lone item at once
and spaces its transactions, so that what arrives meanwhile goes together."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.cli.bootstrap import ensure_defaults
from wanode.engine.group_commit import SQLITE_LINGER, GroupCommit, linger_for
from wanode.engine.submit import Destination, Submission, Submitter
from wanode.messages import Text
from wanode.store import Database
from wanode.store import messages as outbox

pytestmark = pytest.mark.asyncio


def submission(app_id: str, numbers: list[str], tag: str) -> Submission:
    return Submission(
        app_id=app_id,
        message=Text(f"hello {tag}"),
        destinations=tuple(Destination(given=n, wa_id=n) for n in numbers),
        correlationid=tag,
    )


async def stored(db: Database, transids: list[str]) -> list[dict[str, Any] | None]:
    async with db.begin() as conn:
        return [await outbox.get(conn, transid) for transid in transids]


async def test_concurrent_requests_are_written_together_and_each_gets_its_rows(
    db: Database,
) -> None:
    app = (await ensure_defaults(db, gateway="sandbox")).app
    submitter = Submitter(db)
    requests = [
        submission(app["id"], [f"49151{i:04d}{j}" for j in range(i % 3 + 1)], f"r{i}")
        for i in range(60)
    ]
    results = await asyncio.gather(
        *(submitter.submit(r, now=1000.0 + i, app=app) for i, r in enumerate(requests))
    )
    for i, (request, outcomes) in enumerate(zip(requests, results, strict=True)):
        assert [o["wa_id"] for o in outcomes] == [d.wa_id for d in request.destinations]
        rows = await stored(db, [o["transid"] for o in outcomes])
        assert all(row is not None for row in rows)
        assert {(row["status"], row["correlationid"], row["created_at"]) for row in rows} == {
            ("queued", f"r{i}", 1000.0 + i)
        }
    async with db.begin() as conn:
        history = await outbox.history(conn, results[7][0]["transid"])
    assert [(h["status"], h["occurred_at"]) for h in history] == [("queued", 1007.0)]


async def test_a_request_that_cannot_be_written_fails_alone(db: Database) -> None:
    app = (await ensure_defaults(db, gateway="sandbox")).app
    gone = {**app, "id": "a_deleted_meanwhile"}  # no such app row: its rows break the FK
    submitter = Submitter(db)
    good = [submission(app["id"], [f"4915100000{i}"], f"g{i}") for i in range(5)]
    bad = submission(gone["id"], ["4915199999"], "bad")
    results = await asyncio.gather(
        *(submitter.submit(r, now=1000.0, app=app) for r in good[:3]),
        submitter.submit(bad, now=1000.0, app=gone),
        *(submitter.submit(r, now=1000.0, app=app) for r in good[3:]),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and results[3] is failed[0]
    written = [r for r in results if not isinstance(r, BaseException)]
    assert len(written) == 5
    rows = await stored(db, [outcomes[0]["transid"] for outcomes in written])
    assert all(row is not None and row["status"] == "queued" for row in rows)


async def test_a_lingering_writer_writes_a_lone_item_at_once_then_spaces_its_transactions(
    db: Database,
) -> None:
    loop = asyncio.get_running_loop()
    linger = 1.0
    transactions: list[tuple[float, list[int]]] = []

    async def write(conn: AsyncConnection, items: list[int]) -> None:
        began = loop.time()
        await conn.execute(text("SELECT 1"))
        transactions.append((began, items))

    writer: GroupCommit[int] = GroupCommit(db, write, name="test-writer", linger=linger)
    # Nothing written before it: at once, not a linger later.
    await asyncio.wait_for(writer.add(0), timeout=linger * 0.9)

    async def later(item: int) -> None:
        await asyncio.sleep(0.01 * item)
        await writer.add(item)

    # Twenty items over 0.2 s, all within the linger that follows the first transaction.
    await asyncio.gather(*(later(i) for i in range(1, 21)))
    assert [items for _, items in transactions] == [[0], list(range(1, 21))]
    assert transactions[1][0] - transactions[0][0] >= linger


async def test_the_engine_writers_linger_on_sqlite_alone(db: Database) -> None:
    # On PostgreSQL a transaction's round trips already gather the next items.
    assert linger_for(db) == (SQLITE_LINGER if db.is_sqlite else 0.0)
