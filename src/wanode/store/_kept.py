"""Connections kept between transactions: `Database.begin`'s way around the pool.

Checking a connection out of SQLAlchemy's pool and back for every transaction, with its
`start`, reset and `close`, each a greenlet switch, cost most of a short transaction: 130 µs
of the 170 µs of CPU that a one-statement transaction took on SQLite, and about 300 of 600
on PostgreSQL (where the driver's own round trips take the rest). So `Database.begin` keeps
connections checked out, per event loop, and hands them from one transaction to the next:

- SQLite (the inline driver): one connection per loop. The loop's turn (`store/_turn.py`)
  already runs its transactions one at a time.
- PostgreSQL: a stack of idle connections per loop (the one used last is handed out first, as
  the pool does), up to the database's `pool_size`; a transaction that finds none idle and
  the most already kept goes through the pool as before.

A raw statement (`store/_raw.py`) on a kept connection runs outside SQLAlchemy's transaction
bookkeeping: the driver begins its transaction itself (sqlite3 on its first write, the asyncpg
adapter on its first statement), and `end` commits it on the driver when SQLAlchemy has no
transaction open (5 µs on SQLite, where SQLAlchemy's commit took 40). A transaction that ran a
statement through SQLAlchemy is committed by SQLAlchemy, which commits the driver's work too.

A raw statement run with `last` (`store/_raw.py`) is its transaction's last: when it is also
its first, on PostgreSQL it runs on its own, without BEGIN and COMMIT (the server commits it as
it ends: a round trip each saved). `LAST` holds the connections whose transaction ran such a
statement, until `end`: a raw statement after it raises, and so does `end` if a statement ran
through SQLAlchemy after it (that one is rolled back).

A kept connection that fails to commit or roll back, that SQLAlchemy invalidated, or that
the PostgreSQL server closed, is discarded (terminated, then given back to the pool); the
next transaction takes another. A PostgreSQL connection that sat idle `ping_idle_after`
seconds or longer is pinged before it is handed out, as the pool's checkout does (see
`Database`); if the ping fails, it and every connection idle longer are discarded.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wanode.store._turn import Turn

# The kept connections, whatever their database and loop: a raw statement on one of these
# does not begin SQLAlchemy's transaction (see the module's docstring).
KEPT: weakref.WeakSet[AsyncConnection] = weakref.WeakSet()
# The kept connections whose transaction ran its last statement (see the module's docstring),
# each with whether SQLAlchemy's transaction had begun by then.
LAST: weakref.WeakKeyDictionary[AsyncConnection, bool] = weakref.WeakKeyDictionary()


class Held:
    """One kept connection: SQLAlchemy's, its DBAPI adapter and driver connection, the loop
    it belongs to and when it was last handed back."""

    __slots__ = ("adapter", "conn", "driver", "loop", "used")

    def __init__(self, conn: AsyncConnection, adapter: Any, loop: asyncio.AbstractEventLoop):
        self.conn = conn
        self.adapter = adapter
        self.driver = adapter.driver_connection
        self.loop = loop
        self.used = time.monotonic()


class LoopConnections:
    """An event loop's SQLite turn and the connections its transactions share."""

    __slots__ = ("count", "idle", "sqlite", "turn")

    def __init__(self) -> None:
        self.turn = Turn()
        self.sqlite: Held | None = None  # the loop's one SQLite connection, once opened
        self.idle: list[Held] = []  # PostgreSQL: the kept connections not in a transaction
        self.count = 0  # PostgreSQL: the kept connections, idle or in a transaction


class Keeper:
    """One database's kept connections, per event loop (tests run several loops over one
    database): up to `most` PostgreSQL connections per loop, or SQLite's one."""

    def __init__(self, engine: AsyncEngine, *, most: int, ping_idle_after: float) -> None:
        self.engine = engine
        self.most = most
        self.ping_idle_after = ping_idle_after
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopConnections] = (
            weakref.WeakKeyDictionary()
        )
        # Every kept connection, whatever its loop, for `release_all`.
        self._held: set[Held] = set()

    def loop(self) -> LoopConnections:
        """The running loop's turn and connections."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = LoopConnections()
        return state

    async def sqlite(self, state: LoopConnections) -> Held:
        """The loop's SQLite connection (the caller holds the loop's turn)."""
        if state.sqlite is None:
            state.sqlite = await self._keep()
        return state.sqlite

    async def postgresql(self, state: LoopConnections) -> Held | None:
        """A kept connection for a PostgreSQL transaction, or None: use the pool."""
        idle = state.idle
        while idle:
            held = idle.pop()
            if await ready(held, self.ping_idle_after):
                return held
            # Dead (a restart, most often): so, likely, are those idle longer than it.
            dead = [held, *idle]
            idle.clear()
            for each in dead:
                await self._drop(state, each)
        if state.count >= self.most:
            return None
        state.count += 1
        try:
            return await self._keep()
        except BaseException:
            state.count -= 1
            raise

    @asynccontextmanager
    async def transaction(
        self, state: LoopConnections, held: Held
    ) -> AsyncIterator[AsyncConnection]:
        """A transaction on `held`, which is then kept for the loop's next one (or discarded,
        see `end`)."""
        keep = False
        try:
            try:
                yield held.conn
            except BaseException:
                keep = await end(held, commit=False)
                raise
            keep = await end(held, commit=True)
        finally:
            if not keep:
                await self._drop(state, held)
            elif held is not state.sqlite:
                held.used = time.monotonic()
                state.idle.append(held)

    async def release_all(self) -> None:
        """Give every kept connection back (a loop's own code is done with them by now)."""
        for state in list(self._loops.values()):
            state.sqlite = None
            state.idle.clear()
            state.count = 0
        held, self._held = self._held, set()
        for each in held:
            await release(each)

    async def _keep(self) -> Held:
        held = await keep(self.engine)
        self._held.add(held)
        return held

    async def _drop(self, state: LoopConnections, held: Held) -> None:
        if state.sqlite is held:
            state.sqlite = None
        else:
            state.count -= 1
        self._held.discard(held)
        if held.conn in KEPT:  # (`end` discards a connection whose commit failed)
            await discard(held)


async def keep(engine: AsyncEngine) -> Held:
    """A connection checked out of `engine`'s pool, to be kept."""
    conn = engine.connect()
    await conn.start()
    try:
        adapter = (await conn.get_raw_connection()).dbapi_connection
    except BaseException:
        await conn.close()
        raise
    KEPT.add(conn)
    return Held(conn, adapter, asyncio.get_running_loop())


async def end(held: Held, *, commit: bool) -> bool:
    """Commit (or roll back) `held`'s transaction; whether the connection may be kept. If the
    commit or rollback raises, the connection is discarded first."""
    conn = held.conn
    sync = conn.sync_connection
    # SQLAlchemy's transaction begun after the last statement: a statement after it, a bug,
    # whose work is rolled back.
    late = bool(LAST) and LAST.pop(conn, True) is False and bool(sync and sync.in_transaction())
    commit = commit and not late
    try:
        if sync is not None and sync.in_transaction():
            await (conn.commit() if commit else conn.rollback())
        else:
            await _end_on_driver(held, conn, commit=commit)
    except BaseException:
        await discard(held)
        raise
    if late:
        raise RuntimeError("a statement ran after its transaction's last one (`last`)")
    return sync is not None and not sync.invalidated and not _closed(held)


async def _end_on_driver(held: Held, conn: AsyncConnection, *, commit: bool) -> None:
    driver = held.driver
    if conn.dialect.name == "sqlite":
        try:
            await (driver.commit() if commit else driver.rollback())
        except sqlite3.Error as error:
            raise_translated(conn, None, "COMMIT" if commit else "ROLLBACK", None, error)
        return
    adapter = held.adapter
    transaction = adapter._transaction
    if transaction is None:
        return  # no statement ran
    # As the adapter's own commit does: once asyncpg was asked, the transaction is over.
    adapter._transaction = None
    try:
        await (transaction.commit() if commit else transaction.rollback())
    except Exception as error:
        raise_translated(conn, adapter, "COMMIT" if commit else "ROLLBACK", None, error)


def _closed(held: Held) -> bool:
    is_closed = getattr(held.driver, "is_closed", None)
    return bool(is_closed is not None and is_closed())


async def ready(held: Held, ping_idle_after: float) -> bool:
    """Whether a kept PostgreSQL connection taken from the idle stack may be handed out: not
    closed by the server, and answering a ping if it sat idle `ping_idle_after` s or more."""
    if _closed(held):
        return False
    if time.monotonic() - held.used < ping_idle_after:
        return True
    try:
        # The dialect's ping, as the pool's checkout listener calls it (`store/db.py`).
        await held.conn.run_sync(lambda sync: sync.dialect.do_ping(held.adapter))
    except Exception:
        return False
    return True


async def discard(held: Held) -> None:
    """Terminate a kept connection and give it back to the pool, which replaces it."""
    KEPT.discard(held.conn)
    try:
        await held.conn.invalidate()
    finally:
        await held.conn.close()


async def release(held: Held) -> None:
    """Give a kept connection back to the pool (`Database.dispose`). One that belongs to
    another event loop (a test's, gone by now) is terminated: its driver cannot be awaited
    here. The inline SQLite driver is not tied to a loop."""
    KEPT.discard(held.conn)
    if held.conn.dialect.name != "sqlite" and held.loop is not asyncio.get_running_loop():
        await discard(held)
        return
    await held.conn.close()


def raise_translated(
    conn: AsyncConnection, adapter: Any, sql: str, params: Any, error: Exception
) -> NoReturn:
    """Raise a driver's `error` as SQLAlchemy would have: its DBAPI class (IntegrityError,
    ...) wrapped in SQLAlchemy's of the same name. `adapter`: the asyncpg adapter that
    translates asyncpg's errors (None for sqlite3's, which are DBAPI errors already)."""
    if adapter is None:
        raise sa.exc.DBAPIError.instance(
            sql, params, error, sqlite3.Error, dialect=conn.dialect
        ) from error
    dbapi = conn.dialect.loaded_dbapi
    try:
        adapter._handle_exception(error)
    except Exception as translated:
        raise sa.exc.DBAPIError.instance(
            sql, params, translated, dbapi.Error, dialect=conn.dialect
        ) from error
    raise error
