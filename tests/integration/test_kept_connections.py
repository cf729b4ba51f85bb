"""`Database.begin` keeps its connections between transactions (`wanode.store._kept`).

Raw statements on a kept connection run outside SQLAlchemy's transaction bookkeeping and are
committed (or rolled back) on the driver; these tests hold that the outcome is the same as a
transaction through SQLAlchemy's pool: committed work stays, failed and cancelled work goes,
a connection whose COMMIT failed is replaced, and concurrency past the kept connections still
gets transactions (PostgreSQL).
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from tests.conftest import fresh_database

from wanode.store import Database, _kept, _raw
from wanode.store.db import announce

_INSERT = _raw.Sql("INSERT INTO kept_t (v) VALUES (?)", "INSERT INTO kept_t (v) VALUES ($1)")
_PARENT = _raw.Sql(
    "INSERT INTO kept_child (parent) VALUES (?)", "INSERT INTO kept_child (parent) VALUES ($1)"
)


async def _tables(db: Database) -> None:
    async with db.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE kept_t (v INTEGER NOT NULL)"))
        await conn.execute(sa.text("CREATE TABLE kept_parent (id INTEGER PRIMARY KEY)"))
        # Checked at COMMIT: the way to make a COMMIT fail on both databases.
        await conn.execute(
            sa.text(
                "CREATE TABLE kept_child (parent INTEGER REFERENCES kept_parent (id)"
                " DEFERRABLE INITIALLY DEFERRED)"
            )
        )


async def _values(db: Database) -> list[int]:
    # Through the pool, not a kept connection: what another reader sees.
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT v FROM kept_t ORDER BY v"))
        return [row[0] for row in rows]


def _driver(conn: object) -> object:
    return conn.sync_connection.connection.driver_connection  # type: ignore[attr-defined]


async def test_one_connection_serves_transaction_after_transaction(db: Database) -> None:
    await _tables(db)
    drivers = set()
    for v in range(5):
        async with db.begin() as conn:
            assert conn in _kept.KEPT
            await _raw.execute(conn, _INSERT, (v,))
            drivers.add(id(_driver(conn)))
    assert len(drivers) == 1
    assert await _values(db) == [0, 1, 2, 3, 4]


async def test_raw_and_sqlalchemy_statements_commit_and_roll_back_together(db: Database) -> None:
    await _tables(db)
    before = db.commits
    async with db.begin() as conn:
        await _raw.execute(conn, _INSERT, (1,))
        await conn.execute(sa.text("INSERT INTO kept_t (v) VALUES (2)"))
    assert db.commits == before + 1

    class Failed(Exception):
        pass

    for first_raw in (True, False):
        with pytest.raises(Failed):
            async with db.begin() as conn:
                if first_raw:
                    await _raw.execute(conn, _INSERT, (3,))
                await conn.execute(sa.text("INSERT INTO kept_t (v) VALUES (4)"))
                await _raw.execute(conn, _INSERT, (5,))
                raise Failed
        with pytest.raises(Failed):
            async with db.begin() as conn:
                await _raw.execute(conn, _INSERT, (6,))  # raw only: rolled back on the driver
                raise Failed
    assert db.commits == before + 1
    assert await _values(db) == [1, 2]


async def test_a_failed_commit_raises_as_sqlalchemy_would_and_the_next_transaction_works(
    db: Database,
) -> None:
    await _tables(db)
    async with db.begin() as conn:
        failing = _driver(conn)
    with pytest.raises(sa.exc.IntegrityError):
        async with db.begin() as conn:
            await _raw.execute(conn, _INSERT, (7,))
            await _raw.execute(conn, _PARENT, (99,))  # no such parent: refused at COMMIT
    async with db.begin() as conn:
        assert _driver(conn) is not failing  # the connection was replaced
        await _raw.execute(conn, _INSERT, (8,))
    assert await _values(db) == [8]


async def test_a_cancelled_transaction_is_rolled_back_and_the_connection_kept(
    db: Database,
) -> None:
    await _tables(db)
    inside = asyncio.Event()

    async def writer() -> None:
        async with db.begin() as conn:
            await _raw.execute(conn, _INSERT, (1,))
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(writer())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.begin() as conn:
        await _raw.execute(conn, _INSERT, (2,))
    assert await _values(db) == [2]


async def test_transactions_past_the_kept_connections_go_through_the_pool(
    postgres_available: None, tmp_path: object
) -> None:
    async with fresh_database("postgresql", tmp_path) as db:
        db._keeper.most = 2  # (pool_size sets it; a small one makes the overflow cheap to reach)
        await _tables(db)
        release = asyncio.Event()
        kept: list[bool] = []

        async def one(v: int) -> None:
            async with db.begin() as conn:
                kept.append(conn in _kept.KEPT)
                await _raw.execute(conn, _INSERT, (v,))
                await release.wait()

        tasks = [asyncio.create_task(one(v)) for v in range(5)]
        while len(kept) < 5:  # noqa: ASYNC110 (five transactions open at once)
            await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*tasks)
        assert sorted(kept) == [False, False, False, True, True]
        assert await _values(db) == [0, 1, 2, 3, 4]
        # Both kept connections are idle again, and serve what comes next.
        async with db.begin() as conn:
            assert conn in _kept.KEPT


async def test_what_a_transaction_announces_is_heard_once_it_commits(db: Database) -> None:
    heard: list[tuple[set[str], int]] = []
    db.listen("topic", lambda values: heard.append((set(values), db.commits)))
    commits = db.commits
    with pytest.raises(RuntimeError):
        async with db.begin() as conn:
            announce(conn, "topic", ["rolled back"])
            raise RuntimeError("roll back")
    assert heard == []
    async with db.begin() as conn:
        announce(conn, "topic", ["a", "b"])
        announce(conn, "topic", ["b", "c"])
        announce(conn, "another topic", ["nobody listens"])
        await conn.execute(sa.text("SELECT 1"))
        assert heard == []  # not before the commit
    # Heard once, after the commit; a rolled back transaction's values may come with the next
    # commit on its connection (a hint can bear one too many, never one too few).
    [(values, at)] = heard
    assert {"a", "b", "c"} <= values <= {"a", "b", "c", "rolled back"}
    assert at == commits + 1
