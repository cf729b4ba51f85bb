"""The raw-statement layer (`store/_raw.py`): its statements run inside the transaction the
caller's `AsyncConnection` holds, on both backends, and what they write reads back through
SQLAlchemy exactly as SQLAlchemy's own writes do."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from wanode.cli.bootstrap import ensure_defaults
from wanode.store import Database, _raw, deliveries
from wanode.store import messages as outbox
from wanode.store import statuses as inbox
from wanode.store.tables import dr_deliveries, messages, status_events, webhook_statuses

pytestmark = pytest.mark.asyncio


class Boom(Exception):
    pass


def _message(app_id: str, n: int) -> dict[str, Any]:
    return {
        "transid": str(uuid.uuid4()),
        "app_id": app_id,
        "wa_id": f"4915100000{n:03d}",
        "destination": f"4915100000{n:03d}",
        "destination_type": "waid",
        "kind": "text",
        # Non-ASCII, nesting, a float and a big integer: orjson's output, stored as is.
        "payload": {"text": {"body": f"grüße {n} ✓"}, "n": [1, 2.5, 2**40], "none": None},
        "notify_url": "http://127.0.0.1:9/dr",
    }


async def _queued(db: Database, count: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The default app and `count` of its messages, queued (committed)."""
    app = (await ensure_defaults(db, gateway="sandbox")).app
    rows = [_message(app["id"], n) for n in range(count)]
    async with db.begin() as conn:
        await outbox.enqueue(conn, rows, at=1000.0)
    return app, rows


async def _count(db: Database, table: sa.Table) -> int:
    async with db.begin() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar())


async def test_a_raw_write_first_in_a_transaction_rolls_back_with_it(db: Database) -> None:
    """The raw statement is the transaction's very first: on PostgreSQL the adapter has not
    begun its transaction yet, and the write must not autocommit on its own."""
    app = (await ensure_defaults(db, gateway="sandbox")).app
    rows = [_message(app["id"], n) for n in range(3)]
    with pytest.raises(Boom):
        async with db.begin() as conn:
            await outbox.enqueue(conn, rows, at=1000.0)  # raw inserts, nothing before them
            async with db.begin() as other:  # another connection sees nothing uncommitted
                if not db.is_sqlite:
                    seen = await other.execute(sa.select(sa.func.count()).select_from(messages))
                    assert seen.scalar() == 0
            raise Boom
    assert await _count(db, messages) == 0
    assert await _count(db, status_events) == 0
    # And committed when the transaction commits.
    async with db.begin() as conn:
        await outbox.enqueue(conn, rows, at=1000.0)
    assert await _count(db, messages) == 3
    assert await _count(db, status_events) == 3


async def test_raw_and_sqlalchemy_statements_share_one_transaction(db: Database) -> None:
    _app, rows = await _queued(db, 2)
    with pytest.raises(Boom):
        async with db.begin() as conn:
            # SQLAlchemy first, then raw, then SQLAlchemy again, all undone together.
            await conn.execute(messages.update().values(correlationid="x"))
            advanced = await outbox.record_statuses(
                conn,
                [
                    outbox.StatusUpdate(r["transid"], "submitted", 1001.0, None, f"w{i}")
                    for i, r in enumerate(rows)
                ],
                recorded_at=1001.0,
                source="gateway",
            )
            assert advanced == [True, True]
            row = await outbox.get(conn, rows[0]["transid"])
            assert row is not None and row["status"] == "submitted" and row["correlationid"] == "x"
            raise Boom
    async with db.begin() as conn:
        for r in rows:
            row = await outbox.get(conn, r["transid"])
            assert row is not None
            assert (row["status"], row["wamid"], row["correlationid"]) == ("queued", None, None)
            assert [h["status"] for h in await outbox.history(conn, r["transid"])] == ["queued"]


async def test_json_written_raw_reads_back_as_sqlalchemy_wrote_it(db: Database) -> None:
    app = (await ensure_defaults(db, gateway="sandbox")).app
    rows = [_message(app["id"], n) for n in range(2)]
    body = {"status": "ok", "ünïcode": "✓", "nested": {"a": [1, 2.25, None]}, "big": 2**40}
    async with db.begin() as conn:
        await outbox.enqueue(conn, rows, at=1000.0)
        await deliveries.enqueue_many(
            conn,
            [
                {
                    "transid": rows[0]["transid"],
                    "status": "submitted",
                    "url": "http://x/dr",
                    "body": body,
                }
            ],
            at=1000.0,
        )
        # The same through SQLAlchemy, for comparison.
        await deliveries.enqueue(
            conn,
            transid=rows[1]["transid"],
            status="submitted",
            url="http://x/dr",
            body=body,
            at=1000.0,
        )
    async with db.begin() as conn:
        stored = (
            await conn.execute(
                sa.select(dr_deliveries.c.body, sa.cast(dr_deliveries.c.body, sa.Text)).order_by(
                    dr_deliveries.c.id
                )
            )
        ).all()
        assert [b for b, _ in stored] == [body, body]
        assert stored[0][1] == stored[1][1]  # byte for byte what SQLAlchemy stores
        got = await outbox.get(conn, rows[0]["transid"])
        assert got is not None and got["payload"] == rows[0]["payload"]
        # Raw reads decode JSON as SQLAlchemy does: the claim returns the body as a dict.
        claimed = await deliveries.claim(conn, at=1000.0, lease_seconds=30.0, limit=10)
    assert [c["body"] for c in claimed] == [body, body]
    assert [c["attempts"] for c in claimed] == [1, 1]


async def test_the_status_inbox_round_trip(db: Database) -> None:
    app, rows = await _queued(db, 3)
    async with db.begin() as conn:
        await outbox.record_statuses(
            conn,
            [
                outbox.StatusUpdate(r["transid"], "submitted", 1001.0, None, f"wamid.{i}")
                for i, r in enumerate(rows)
            ],
            recorded_at=1001.0,
            source="gateway",
        )
    statuses = [
        {
            "phone_number_id": app["phone_number_id"],
            "wamid": wamid,
            "status": "delivered",
            "occurred_at": at,
            "recipient_id": "4915100000001",
            "identity_key_hash": None,
            "recipient_user_id": None,
            "error_code": None,
            "error_title": None,
            "error_details": None,
            "received_at": 1003.5,
        }
        for wamid, at in (("wamid.2", 1003.0), ("wamid.0", 1002.0), ("wamid.unknown", 1001.0))
    ]
    async with db.begin() as conn:
        await inbox.store_many(conn, statuses)
        await inbox.store_many(conn, statuses[:1])  # a duplicate is ignored
    async with db.begin() as conn:
        ready = await inbox.ready(conn, limit=10)
        # Oldest first; the unknown wamid waits (no message); the message's columns come along.
        assert [(r["wamid"], r["occurred_at"], r["transid"]) for r in ready] == [
            ("wamid.0", 1002.0, rows[0]["transid"]),
            ("wamid.2", 1003.0, rows[2]["transid"]),
        ]
        assert ready[0]["notify_url"] == "http://127.0.0.1:9/dr"
        assert ready[0]["received_at"] == 1003.5 and ready[0]["error_code"] is None
        assert await inbox.ready(conn, limit=1) == ready[:1]
        await inbox.remove(conn, [r["id"] for r in ready])
    async with db.begin() as conn:
        assert await inbox.ready(conn, limit=10) == []
        left = (await conn.execute(sa.text("SELECT wamid FROM webhook_statuses"))).scalars().all()
        assert left == ["wamid.unknown"]


async def test_a_raw_error_is_sqlalchemys_error(db: Database) -> None:
    """A constraint broken by a raw statement raises SQLAlchemy's IntegrityError, as before."""
    app = (await ensure_defaults(db, gateway="sandbox")).app
    row = _message(app["id"], 1)
    async with db.begin() as conn:
        await outbox.enqueue(conn, [row], at=1000.0)
    with pytest.raises(sa.exc.IntegrityError):
        async with db.begin() as conn:
            await outbox.enqueue(conn, [row], at=1001.0)
    assert await _count(db, messages) == 1


async def test_padded_chunks_repeat_the_last_row_to_a_power_of_two() -> None:
    rows = [(n,) for n in range(5)]
    assert list(_raw.padded_chunks(rows, most=4)) == [rows[:4], [rows[4]]]
    assert list(_raw.padded_chunks(rows[:3], most=4)) == [[*rows[:3], rows[2]]]
    assert list(_raw.padded_chunks([], most=4)) == []


async def test_batches_past_one_chunk_claim_mark_and_record_every_row(db: Database) -> None:
    """300 messages: more than one multi-row statement (chunks of 128, padded) on SQLite."""
    _app, rows = await _queued(db, 300)
    async with db.begin() as conn:
        claimed = await outbox.claim(conn, at=1000.0, lease_seconds=30.0, limit=1000)
    assert sorted(m["transid"] for m in claimed) == sorted(r["transid"] for r in rows)
    by_id = {r["transid"]: r for r in rows}
    for m in claimed:
        assert m["payload"] == by_id[m["transid"]]["payload"]
        assert m["possibly_duplicated"] is False and m["in_doubt"] is False
        assert (m["attempts"], m["lease_until"], m["sending_at"]) == (1, 1030.0, None)
    claims = [(m["transid"], m["lease_until"]) for m in claimed]
    # Every third claim is stale (its lease is not the one the row holds): not marked.
    stale = {t for i, (t, _) in enumerate(claims) if i % 3 == 0}
    asked = [(t, lease + 1.0 if t in stale else lease) for t, lease in claims]
    async with db.begin() as conn:
        held = await outbox.mark_sending(conn, asked, at=1001.0, lease_seconds=30.0)
    assert held == {t for t, _ in claims} - stale
    # A claim after the lease ran out finds the marked ones in doubt.
    async with db.begin() as conn:
        again = await outbox.claim(conn, at=1040.0, lease_seconds=30.0, limit=1000)
    assert {m["transid"] for m in again if m["in_doubt"]} == held
    assert all(m["attempts"] == 2 for m in again)
    updates = [
        outbox.StatusUpdate(t, "submitted", 1041.0, None, f"wamid.{i}")
        for i, (t, _) in enumerate(claims)
    ]
    updates += updates[:10]  # repeated in the same call: counted once
    async with db.begin() as conn:
        advanced = await outbox.record_statuses(conn, updates, recorded_at=1041.5, source="gateway")
    assert advanced == [True] * 300 + [False] * 10
    async with db.begin() as conn:
        assert await outbox.count_by_status(conn) == {"submitted": 300}
        got = await outbox.get(conn, claims[299][0])
        assert got is not None
        assert (got["wamid"], got["submitted_at"], got["lease_until"]) == (
            "wamid.299",
            1041.0,
            None,
        )
        assert len(await outbox.history(conn, claims[5][0])) == 2


async def test_the_threaded_sqlite_driver_runs_the_same_statements(tmp_path: Path) -> None:
    """With the aiosqlite fallback there is no inline connection to run on: the same text goes
    through SQLAlchemy's `exec_driver_sql`, in the same transaction."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/threaded.db", sqlite_driver="aiosqlite")
    await db.migrate()
    try:
        app = (await ensure_defaults(db, gateway="sandbox")).app
        rows = [_message(app["id"], n) for n in range(3)]
        with pytest.raises(Boom):
            async with db.begin() as conn:
                assert _raw.kind(conn) == _raw.OTHER_SQLITE
                await outbox.enqueue(conn, rows, at=1000.0)
                raise Boom
        assert await _count(db, messages) == 0
        async with db.begin() as conn:
            await outbox.enqueue(conn, rows, at=1000.0)
        async with db.begin() as conn:
            claimed = await outbox.claim(conn, at=1000.0, lease_seconds=30.0, limit=10)
            held = await outbox.mark_sending(
                conn,
                [(m["transid"], m["lease_until"]) for m in claimed],
                at=1000.0,
                lease_seconds=30.0,
            )
            assert held == {r["transid"] for r in rows}
            advanced = await outbox.record_statuses(
                conn,
                [outbox.StatusUpdate(t, "submitted", 1001.0, None, f"w.{t}") for t in sorted(held)],
                recorded_at=1001.0,
                source="gateway",
            )
            assert advanced == [True, True, True]
            assert claimed[0]["payload"] == next(
                r["payload"] for r in rows if r["transid"] == claimed[0]["transid"]
            )
        async with db.begin() as conn:
            assert await outbox.count_by_status(conn) == {"submitted": 3}
    finally:
        await db.dispose()


async def test_a_dr_claim_skips_urls_and_takes_a_messages_later_drs_along(db: Database) -> None:
    _app, rows = await _queued(db, 3)
    async with db.begin() as conn:
        await deliveries.enqueue_many(
            conn,
            [
                {"transid": r["transid"], "status": s, "url": f"http://x/{i}", "body": {"s": s}}
                for s in ("submitted", "delivered")
                for i, r in enumerate(rows)
            ],
            at=1000.0,
        )
    async with db.begin() as conn:
        claimed = await deliveries.claim(
            conn, at=1000.0, lease_seconds=30.0, limit=10, skip_urls=["http://x/1"]
        )
    # Messages 0 and 2, both DRs each (the later one along with its head), in id order.
    assert [(c["url"], c["status"]) for c in claimed] == [
        ("http://x/0", "submitted"),
        ("http://x/2", "submitted"),
        ("http://x/0", "delivered"),
        ("http://x/2", "delivered"),
    ]
    assert [c["id"] for c in claimed] == sorted(c["id"] for c in claimed)
    assert all(c["lease_until"] == 1030.0 and c["attempts"] == 1 for c in claimed)
    async with db.begin() as conn:
        # Leased: not claimed again; the skipped URL's head is, and only its head was pending
        # ahead of its follower (which comes with it).
        again = await deliveries.claim(conn, at=1001.0, lease_seconds=30.0, limit=10)
        await deliveries.finish_many(
            conn, [deliveries.Finished(c["id"], "delivered", 200, None) for c in again], at=1002.0
        )
    assert [(c["url"], c["status"]) for c in again] == [
        ("http://x/1", "submitted"),
        ("http://x/1", "delivered"),
    ]
    async with db.begin() as conn:
        states = (
            await conn.execute(
                sa.select(
                    dr_deliveries.c.url, dr_deliveries.c.state, dr_deliveries.c.finished_at
                ).where(dr_deliveries.c.url == "http://x/1")
            )
        ).all()
    assert sorted(states) == [("http://x/1", "delivered", 1002.0)] * 2


async def test_many_rows_go_in_one_statement_in_their_order(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`execute_many` of a statement with a PostgreSQL form for many rows runs that form once
    (`unnest` of one array per column) rather than once per row: the rows are written as row
    by row, ids in the rows' order (a message's DRs go in that order), JSON and NULLs intact;
    an UPDATE given a row twice ends as its last mention says; an error is SQLAlchemy's."""
    _app, rows = await _queued(db, 120)  # each with its `queued` history row, written at once
    if not db.is_sqlite:
        import asyncpg

        async def per_row(*_args: Any, **_kwargs: Any) -> None:
            raise AssertionError("executemany: one statement per row")

        monkeypatch.setattr(asyncpg.Connection, "executemany", per_row)
    bodies = [{"n": i, "ünï": "✓", "none": None, "f": i / 4} for i in range(360)]
    reports = [
        {
            "transid": rows[i % 120]["transid"],
            "status": ("submitted", "sent", "delivered")[i // 120],
            "url": "http://127.0.0.1:9/dr",
            "body": bodies[i],
            "auth_id": "auth" if i % 2 else None,
        }
        for i in range(360)
    ]
    async with db.begin() as conn:
        await deliveries.enqueue_many(conn, reports, at=1000.0)
        await outbox.enqueue(conn, [_message(_app["id"], 999)], at=1000.0)
    stored = await _drs(db, "id", "transid", "status", "body", "auth_id", "attempts", "state")
    assert [(s.transid, s.status, s.body, s.auth_id) for s in stored] == [
        (r["transid"], r["status"], r["body"], r["auth_id"]) for r in reports
    ]
    assert {(s.attempts, s.state) for s in stored} == {(0, "pending")}
    async with db.begin() as conn:
        history = await outbox.history(conn, rows[7]["transid"])
        assert [
            (h["status"], h["occurred_at"], h["recorded_at"], h["source"]) for h in history
        ] == [("queued", 1000.0, 1000.0, "api")]
    ids = [s.id for s in stored]
    finished = [
        deliveries.Finished(ids[0], "given_up", 500, "first"),
        *(deliveries.Finished(i, "delivered", 200, None) for i in ids[1:]),
        deliveries.Finished(ids[0], "delivered", 204, None),  # the last word on ids[0]
    ]
    async with db.begin() as conn:
        await deliveries.finish_many(conn, finished, at=1002.0)
    done = await _drs(db, "state", "last_status_code", "last_error", "finished_at", "lease_until")
    assert done[0] == ("delivered", 204, None, 1002.0, None)
    assert set(done[1:]) == {("delivered", 200, None, 1002.0, None)}
    with pytest.raises(sa.exc.IntegrityError):  # no such message
        async with db.begin() as conn:
            await deliveries.enqueue_many(conn, [{**reports[0], "transid": "nope"}], at=1003.0)
    assert await _count(db, dr_deliveries) == 360


async def _drs(db: Database, *columns: str) -> list[Any]:
    """`columns` of every DR, in id order."""
    async with db.begin() as conn:
        query = sa.select(*(dr_deliveries.c[name] for name in columns))
        return list((await conn.execute(query.order_by(dr_deliveries.c.id))).all())


async def test_a_last_statement_that_is_also_the_first_is_its_own_transaction(
    db: Database,
) -> None:
    """`last`: on PostgreSQL a transaction's only statement runs without BEGIN and COMMIT, so
    it is committed as it ends, before the block is; on SQLite it commits with the block. The
    accept's rows and their history are that one statement on PostgreSQL."""
    app = (await ensure_defaults(db, gateway="sandbox")).app
    rows = [_message(app["id"], n) for n in range(3)]
    async with db.begin() as conn:
        await outbox.enqueue_all(conn, [(rows, 1000.0)], last=True)
        if not db.is_sqlite:
            async with db.begin() as other:
                seen = await other.execute(sa.select(sa.func.count()).select_from(messages))
                assert seen.scalar() == 3
    assert await _count(db, messages) == 3
    assert await _count(db, status_events) == 3
    # After others, a last statement is one of the transaction's: undone with it.
    more = [_message(app["id"], n) for n in range(3, 5)]
    with pytest.raises(Boom):
        async with db.begin() as conn:
            await conn.execute(messages.update().values(correlationid="x"))
            await outbox.enqueue_all(conn, [(more, 1001.0)], last=True)
            raise Boom
    assert await _count(db, messages) == 3
    async with db.begin() as conn:
        assert (await outbox.get(conn, rows[0]["transid"]) or {}).get("correlationid") is None


async def test_nothing_may_run_after_a_last_statement(db: Database) -> None:
    """A raw statement after the transaction's last one raises before it runs; a statement
    through SQLAlchemy after it is rolled back and the transaction's end raises. (Either is a
    bug in the caller: the last statement may have committed on its own.)"""
    _app, rows = await _queued(db, 1)
    statuses = [
        {
            "phone_number_id": "1",
            "wamid": f"wamid.{n}",
            "status": "sent",
            "occurred_at": 1001.0,
            "recipient_id": rows[0]["wa_id"],
            "received_at": 1001.0,
        }
        for n in range(2)
    ]
    with pytest.raises(RuntimeError, match="last"):
        async with db.begin() as conn:
            await inbox.store_many(conn, statuses[:1], last=True)
            await inbox.store_many(conn, statuses[1:])
    with pytest.raises(RuntimeError, match="last"):
        async with db.begin() as conn:
            await inbox.store_many(conn, statuses[1:], last=True)
            await conn.execute(messages.update().values(correlationid="late"))
    async with db.begin() as conn:
        row = await outbox.get(conn, rows[0]["transid"])
        assert row is not None and row["correlationid"] is None
    # The connection serves the next transaction as any other.
    async with db.begin() as conn:
        await inbox.store_many(conn, [{**statuses[0], "wamid": "wamid.next"}], last=True)
    async with db.begin() as conn:
        stored = await conn.execute(sa.select(webhook_statuses.c.wamid))
        # On PostgreSQL, the last statements had committed on their own; not on SQLite.
        expected = {"wamid.next"} if db.is_sqlite else {"wamid.0", "wamid.1", "wamid.next"}
        assert set(stored.scalars()) == expected
