"""The inline SQLite driver (`wanode.store._inline_sqlite`): the same contract as aiosqlite
through `Database.begin()`, and a loop that keeps running while another process holds the
write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _inline_sqlite
from wanode.store.db import Database, SqliteDriver

METADATA = sa.MetaData()
ITEMS = sa.Table(
    "item",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False, unique=True),
    sa.Column("n", sa.Integer, nullable=False, default=0),
)


async def _open(path: Path, driver: SqliteDriver, timeout: float = 30) -> Database:
    db = Database(
        f"sqlite+aiosqlite:///{path}", sqlite_driver=driver, connect_args={"timeout": timeout}
    )
    async with db.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    return db


@pytest.fixture(params=["inline", "aiosqlite"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await _open(tmp_path / "t.db", request.param)
    yield database
    await database.dispose()


async def _count(db: Database) -> int:
    async with db.begin() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(ITEMS)) or 0)


async def test_inline_is_the_default_and_keeps_the_pragmas(tmp_path: Path) -> None:
    db = await _open(tmp_path / "t.db", "inline")
    try:
        async with db.begin() as conn:
            raw = await conn.get_raw_connection()
            assert type(raw.driver_connection).__name__ == "InlineConnection"
            pragmas = [
                await conn.scalar(sa.text(f"PRAGMA {name}"))
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            ]
        # WAL, NORMAL, on; SQLite's own (blocking) busy handler off: the driver waits instead.
        assert pragmas == ["wal", 1, 1, 0]
    finally:
        await db.dispose()


def test_an_unknown_driver_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown SQLite driver"):
        Database("sqlite+aiosqlite:///:memory:", sqlite_driver="nope")  # type: ignore[arg-type]


async def test_an_exception_rolls_the_transaction_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.begin() as conn:
            await conn.execute(ITEMS.insert(), [{"name": "a"}, {"name": "b"}])
            await conn.execute(ITEMS.update().values(n=5))
            raise RuntimeError("boom")
    assert await _count(db) == 0
    # And the connection went back to its pool clean: the next transaction commits.
    async with db.begin() as conn:
        await conn.execute(ITEMS.insert().values(name="c"))
    assert await _count(db) == 1


async def test_a_failing_statement_rolls_back_what_came_before(db: Database) -> None:
    async with db.begin() as conn:
        await conn.execute(ITEMS.insert().values(name="a"))
    with pytest.raises(sa.exc.IntegrityError):
        async with db.begin() as conn:
            await conn.execute(ITEMS.insert().values(name="b"))
            await conn.execute(ITEMS.insert().values(name="a"))
    async with db.begin() as conn:
        assert (await conn.scalars(sa.select(ITEMS.c.name))).all() == ["a"]


async def test_executemany_rowcount_lastrowid_and_returning(db: Database) -> None:
    async with db.begin() as conn:
        many = await conn.execute(ITEMS.insert(), [{"name": f"r{i}", "n": i} for i in range(100)])
        assert many.rowcount == 100
        one = await conn.execute(ITEMS.insert().values(name="last", n=-1))
        assert one.lastrowid == 101
        assert one.inserted_primary_key == (101,)
        updated = await conn.execute(ITEMS.update().where(ITEMS.c.n >= 90).values(n=0))
        assert updated.rowcount == 10
        returned = await conn.execute(
            ITEMS.insert().values(name="ret", n=7).returning(ITEMS.c.id, ITEMS.c.n)
        )
        assert returned.one() == (102, 7)
        deleted = await conn.execute(
            ITEMS.delete().where(ITEMS.c.name.in_(["r0", "r1"])).returning(ITEMS.c.name)
        )
        assert sorted(deleted.scalars()) == ["r0", "r1"]
        rows = (await conn.execute(sa.select(ITEMS).order_by(ITEMS.c.id).limit(3))).all()
        assert [tuple(r) for r in rows] == [(3, "r2", 2), (4, "r3", 3), (5, "r4", 4)]
    assert await _count(db) == 100


async def test_streamed_results(db: Database) -> None:
    async with db.begin() as conn:
        await conn.execute(ITEMS.insert(), [{"name": f"s{i}"} for i in range(25)])
    async with db.begin() as conn:
        stream = await conn.stream(sa.select(ITEMS.c.name).order_by(ITEMS.c.id))
        names = [row.name async for row in stream]
    assert names == [f"s{i}" for i in range(25)]


async def test_autocommit_connections_and_the_isolation_level_after_them(db: Database) -> None:
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(ITEMS.insert().values(name="auto"))
    # The pool restored the default level: a transaction rolls back again.
    with pytest.raises(RuntimeError):
        async with db.begin() as conn:
            await conn.execute(ITEMS.insert().values(name="gone"))
            raise RuntimeError
    async with db.begin() as conn:
        assert (await conn.scalars(sa.select(ITEMS.c.name))).all() == ["auto"]


async def test_two_tasks_transactions_never_interleave(db: Database) -> None:
    async with db.begin() as conn:
        await conn.execute(ITEMS.insert().values(name="counter", n=0))
    events: list[tuple[int, str]] = []

    async def bump(task: int) -> None:
        for _ in range(10):
            async with db.begin() as conn:
                events.append((task, "begin"))
                n = await conn.scalar(sa.select(ITEMS.c.n).where(ITEMS.c.name == "counter"))
                await asyncio.sleep(0)  # let the other task try its luck
                await conn.execute(
                    ITEMS.update().where(ITEMS.c.name == "counter").values(n=(n or 0) + 1)
                )
                events.append((task, "end"))

    await asyncio.gather(bump(1), bump(2), bump(3))
    # Each begin is followed by its own end: no transaction started inside another.
    assert all(
        events[i][1] == "begin" and events[i + 1] == (events[i][0], "end")
        for i in range(0, len(events), 2)
    )
    async with db.begin() as conn:
        assert await conn.scalar(sa.select(ITEMS.c.n).where(ITEMS.c.name == "counter")) == 30


async def test_back_to_back_transactions_leave_other_tasks_their_turns(db: Database) -> None:
    order: list[str] = []

    async def other_task() -> None:
        while True:
            await asyncio.sleep(0)
            order.append("other")

    other = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    try:
        for i in range(200):
            async with db.begin() as conn:
                await conn.execute(ITEMS.insert().values(name=f"b{i}"))
            order.append("transaction")
    finally:
        other.cancel()
    longest_run = max(len(run) for run in "".join(e[0] for e in order).split("o"))
    assert longest_run <= 2


async def test_a_pooled_connection_serves_later_loops_and_threads(tmp_path: Path) -> None:
    db = await _open(tmp_path / "t.db", "inline")

    async def insert(name: str) -> None:
        async with db.begin() as conn:
            await conn.execute(ITEMS.insert().values(name=name))

    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            asyncio.run(insert("from a thread"))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=in_thread)
    thread.start()
    await asyncio.to_thread(thread.join)
    assert errors == []
    await insert("from the test's loop")
    assert await _count(db) == 2
    await db.dispose()


# Another process takes the write lock, says so, holds it `hold` seconds, then commits.
_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO item (name, n) VALUES ('holder', 0)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


async def _hold_write_lock(path: Path, hold: float) -> asyncio.subprocess.Process:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLDER, str(path), str(hold), stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert (await holder.stdout.readline()).strip() == b"locked"
    return holder


class _Ticker:
    """Counts the loop's turns: the longest gap between two is how long the loop was blocked."""

    def __init__(self) -> None:
        self.ticks = 0
        self.longest_gap = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(0.005)
            now = loop.time()
            self.ticks += 1
            self.longest_gap = max(self.longest_gap, now - last)
            last = now


async def test_the_loop_keeps_running_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    db = await _open(tmp_path / "t.db", "inline")
    holder = await _hold_write_lock(tmp_path / "t.db", hold=1.0)
    ticker = _Ticker()
    ticking = asyncio.create_task(ticker.run())
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with db.begin() as conn:
            # Reads are never kept waiting by a writer in WAL mode.
            assert await _count_in(conn) == 0
            await conn.execute(ITEMS.insert().values(name="waiter"))
        waited = loop.time() - started
    finally:
        ticking.cancel()
        await holder.wait()
        await db.dispose()
    assert waited > 0.5  # it did wait for the holder to commit...
    assert ticker.ticks > 20  # ...while the loop ran other tasks,
    assert ticker.longest_gap < 0.25  # and was never blocked for long.
    with sqlite3.connect(tmp_path / "t.db") as raw:
        names = [name for (name,) in raw.execute("SELECT name FROM item ORDER BY id")]
    assert names == ["holder", "waiter"]


async def _count_in(conn: AsyncConnection) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(ITEMS)) or 0)


async def test_waiting_for_the_write_lock_gives_up_after_the_timeout(tmp_path: Path) -> None:
    db = await _open(tmp_path / "t.db", "inline", timeout=0.3)
    holder = await _hold_write_lock(tmp_path / "t.db", hold=3.0)
    ticker = _Ticker()
    ticking = asyncio.create_task(ticker.run())
    try:
        with pytest.raises(sa.exc.OperationalError, match="database is locked"):
            async with db.begin() as conn:
                await conn.execute(ITEMS.insert().values(name="waiter"))
        assert ticker.ticks > 5
        assert ticker.longest_gap < 0.25
    finally:
        ticking.cancel()
        holder.kill()
        await holder.wait()
        await db.dispose()


async def test_executemany_waits_for_the_write_lock_and_writes_every_row(tmp_path: Path) -> None:
    db = await _open(tmp_path / "t.db", "inline")
    holder = await _hold_write_lock(tmp_path / "t.db", hold=0.5)
    try:
        async with db.begin() as conn:
            result = await conn.execute(ITEMS.insert(), [{"name": f"m{i}"} for i in range(50)])
            assert result.rowcount == 50
        assert await _count(db) == 51
    finally:
        await holder.wait()
        await db.dispose()


async def test_migrations_run_on_the_inline_driver(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/w.db")
    try:
        await db.migrate()
        async with db.begin() as conn:
            version = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert version
    finally:
        await db.dispose()
    # The file is a plain SQLite database in WAL mode for any other reader.
    with sqlite3.connect(tmp_path / "w.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize("checkpoints", [True, False])
async def test_commits_checkpoint_the_wal_in_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoints: bool
) -> None:
    threads: list[int] = []
    checkpoint = _inline_sqlite.Checkpointer._checkpoint

    def spied(self: _inline_sqlite.Checkpointer, path: str, *args: Any) -> None:
        threads.append(threading.get_ident())
        checkpoint(self, path, *args)

    monkeypatch.setattr(_inline_sqlite.Checkpointer, "_checkpoint", spied)
    path = tmp_path / "c.db"
    checkpointer = _inline_sqlite.Checkpointer(interval=0)
    conn = await _inline_sqlite.connect(
        str(path),
        pragmas=("journal_mode=WAL",),
        checkpointer=checkpointer if checkpoints else None,
    )
    try:
        cursor = conn.cursor()
        await cursor.execute("CREATE TABLE blob (b BLOB)")
        await cursor.executemany("INSERT INTO blob VALUES (?)", [(b"x" * 1000,)] * 1000)
        await conn.commit()
        await checkpointer.settle()
        if checkpoints:
            # The pages reached the database file, copied by a thread that is not the loop's.
            assert path.stat().st_size > 1_000_000
            assert threads and threading.get_ident() not in threads
        else:  # they stay in the WAL until SQLite's own checkpoint, at 1000 pages
            assert path.stat().st_size < 100_000
            assert threads == []
    finally:
        await conn.close()


async def _blob_connection(
    path: Path, checkpointer: _inline_sqlite.Checkpointer
) -> _inline_sqlite.InlineConnection:
    conn = await _inline_sqlite.connect(
        str(path), pragmas=("journal_mode=WAL",), checkpointer=checkpointer
    )
    cursor = conn.cursor()
    await cursor.execute("CREATE TABLE blob (b BLOB)")
    await conn.commit()
    await checkpointer.settle()
    return conn


async def _write_pages(conn: _inline_sqlite.InlineConnection, pages: int) -> None:
    cursor = conn.cursor()
    await cursor.executemany("INSERT INTO blob VALUES (?)", [(b"x" * 3000,)] * pages)
    await conn.commit()


async def test_a_commit_does_not_wait_for_the_checkpoint_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The COMMIT hands its turn on at once: the checkpoint (a slow one here) goes on in its
    thread after the COMMIT returned."""
    checkpoint = _inline_sqlite.Checkpointer._checkpoint
    may_finish = threading.Event()
    began = threading.Event()

    def slow(self: _inline_sqlite.Checkpointer, path: str, *args: Any) -> None:
        began.set()
        may_finish.wait(10)
        checkpoint(self, path, *args)

    checkpointer = _inline_sqlite.Checkpointer(interval=0)
    conn = await _blob_connection(tmp_path / "c.db", checkpointer)
    monkeypatch.setattr(_inline_sqlite.Checkpointer, "_checkpoint", slow)
    try:
        await _write_pages(conn, 200)  # returns while the checkpoint waits
        assert await asyncio.to_thread(began.wait, 10)
        assert not checkpointer.due()  # one is running: the next commit starts none
        await _write_pages(conn, 10)  # other writes go on meanwhile
        may_finish.set()
        await checkpointer.settle()
        assert checkpointer.due()
    finally:
        may_finish.set()
        await conn.close()


async def test_a_wal_past_its_bound_is_checkpointed_within_the_commit_and_starts_over(
    tmp_path: Path,
) -> None:
    """A checkpoint that could not copy every frame (here a reader holds an old snapshot; under
    load, writes beside it) leaves the WAL growing; once one finds it at `wal_pages` frames or
    more, the next is awaited in its COMMIT, copies everything, and the WAL starts over."""
    path = tmp_path / "c.db"
    checkpointer = _inline_sqlite.Checkpointer(interval=0, wal_pages=100)
    conn = await _blob_connection(path, checkpointer)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM blob").fetchone()  # pins the snapshot
        await _write_pages(conn, 200)
        await checkpointer.settle()
        assert checkpointer.must_wait  # 200 frames found, not all copied
        reader.execute("COMMIT")
        size_before = path.stat().st_size
        await _write_pages(conn, 10)
        # The checkpoint ran inside the COMMIT: done when it returned, every frame copied.
        assert checkpointer.due() and not checkpointer.must_wait
        assert path.stat().st_size > size_before + 200 * 3000
        await _write_pages(conn, 5)  # starts the WAL over, at its first frame
        frames = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        assert 0 < frames < 50
    finally:
        reader.close()
        await conn.close()


@pytest.mark.parametrize("beside", [True, False])
async def test_commits_beside_a_checkpoint_make_the_next_one_hold_the_turn_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, beside: bool
) -> None:
    """A checkpoint copies every frame it found, but frames COMMITted while it ran keep the
    WAL from starting over: past `wal_pages`, the next checkpoint is due at once (the interval
    is an hour here) and held inside its COMMIT, and the WAL then starts over. With no COMMIT
    beside it, the WAL starts over by itself and nothing is held."""
    checkpoint = _inline_sqlite.Checkpointer._checkpoint
    began, may_finish = threading.Event(), threading.Event()
    held: list[bool] = []

    def paused(self: _inline_sqlite.Checkpointer, path: str, hold: bool, commits: int) -> None:
        held.append(hold)
        began.set()
        may_finish.wait(10)
        checkpoint(self, path, hold, commits)

    monkeypatch.setattr(_inline_sqlite.Checkpointer, "_checkpoint", paused)
    path = tmp_path / "c.db"
    checkpointer = _inline_sqlite.Checkpointer(interval=3600, wal_pages=100)
    conn = await _inline_sqlite.connect(
        str(path), pragmas=("journal_mode=WAL",), checkpointer=checkpointer
    )
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        cursor = conn.cursor()
        await cursor.execute("CREATE TABLE blob (b BLOB)")
        await cursor.executemany("INSERT INTO blob VALUES (?)", [(b"x" * 3000,)] * 150)
        await conn.commit()  # starts the first checkpoint, which waits to begin
        assert await asyncio.to_thread(began.wait, 10)
        if beside:
            await _write_pages(conn, 20)  # COMMITted while it runs (it starts none)
        may_finish.set()
        await checkpointer.settle()
        assert held == [False]
        assert checkpointer.must_wait is beside
        assert checkpointer.due() is beside  # an hour early, if at all
        size_before = path.stat().st_size
        await _write_pages(conn, 10)
        if beside:  # checkpointed inside that COMMIT, turn held, every frame copied
            assert held == [False, True]
            assert path.stat().st_size >= size_before + 10 * 4096  # the ten pages
            assert not checkpointer.must_wait and not checkpointer.due()
            await _write_pages(conn, 5)  # starts the WAL over, at its first frame
        else:  # the WAL started over at that write; no checkpoint ran
            assert held == [False]
        frames = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        assert 0 < frames < 50
    finally:
        may_finish.set()
        reader.close()
        await conn.close()


async def test_a_database_waits_for_its_checkpoint_when_disposed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = _inline_sqlite.Checkpointer._checkpoint
    copied = threading.Event()

    def slow(self: _inline_sqlite.Checkpointer, path: str, *args: Any) -> None:
        time.sleep(0.3)
        checkpoint(self, path, *args)
        copied.set()

    monkeypatch.setattr(_inline_sqlite.Checkpointer, "_checkpoint", slow)
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/d.db")
    async with db.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE t (x)"))
    async with db.begin() as conn:
        await conn.execute(sa.text("INSERT INTO t VALUES (1)"))  # a COMMIT that checkpoints
    assert not copied.is_set()
    await db.dispose()
    assert copied.is_set()
