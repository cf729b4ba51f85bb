"""SQLite on the event-loop thread, behind the part of aiosqlite's API that SQLAlchemy calls.

aiosqlite runs each connection in a thread of its own and hands every call (execute, fetch,
close, commit) to it and back: about four thread hand-offs per statement, which cost far more
CPU than the statement. Here the stdlib `sqlite3` calls run inline, in coroutines that return
without suspending, so SQLAlchemy's `await_` costs a greenlet switch instead of a thread hop.

What makes that safe is that nothing here blocks the loop for long. In WAL mode readers never
wait, and a connection that holds the write lock never waits either; the one wait left is for
the write lock itself, while another *process* holds it. So SQLite's own busy handler is
switched off (`busy_timeout=0`) and a statement that finds the database locked before its
transaction holds anything is retried after an `asyncio.sleep`, letting the loop run
meanwhile, until the connection's `timeout` has passed. A database that refuses WAL keeps
SQLite's blocking busy handler for the whole `timeout`, as the threaded driver had.

The other slow thing SQLite does is the WAL checkpoint, which copies pages back into the
database and fsyncs it (20-30 ms for SQLite's default 1000 pages here, more on a busy disk)
inside whichever COMMIT crosses the WAL's size limit. A `Checkpointer` runs them in a worker
thread instead, at most one a second: a thread hand-off per second, not per transaction, and
the COMMIT that starts one does not wait for it, unless the WAL has grown past its bound.

Use it through `create_async_engine("sqlite+aiosqlite:///...", async_creator=...)`: the
aiosqlite dialect wraps what `connect` returns as it would wrap an aiosqlite connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, TypeVar

import structlog

_T = TypeVar("_T")
log = structlog.get_logger(__name__)

# Pauses while another process holds the write lock: short at first (its transaction is
# usually a millisecond or two), never long, so the lock is taken soon after it is freed.
_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.01
# Extended result codes: plain SQLITE_BUSY, and the busy of a connection recovering the WAL.
# SQLITE_BUSY_SNAPSHOT (517) is not here: a stale snapshot never becomes fresh by waiting.
_RETRIED_BUSY = frozenset({5, 261})
# Should the worker thread's checkpoints stop (a loop without an executor), COMMIT checkpoints
# inline again once the WAL holds this many pages (SQLite's default is 1000): well past where
# the `Checkpointer` starts the WAL over, since SQLite's own checkpoint stalls the loop (20-30 ms
# with its fsyncs, once a second at 500 messages a second when this was 10,000).
_FALLBACK_AUTOCHECKPOINT = 40_000


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in _RETRIED_BUSY


class Checkpointer:
    """Checkpoints one database's WAL in a worker thread, from a COMMIT, every `interval` s.

    The COMMIT that starts a checkpoint does not wait for it: its transaction's turn (see
    `Database.begin`) goes to the next transaction at once. Waiting held every transaction of
    the process, the API's included, for the checkpoint's 20-40 ms (its fsyncs), once a
    second: under a campaign that stall was a large part of the API's slowest answers.

    A checkpoint with writers beside it copies what the WAL held when it began, and SQLite
    starts the WAL over (at its first frame) only after a checkpoint that copied every frame,
    the ones COMMITs added meanwhile included. So the WAL grows while writes go on: by some
    10,000 frames a second at 500 single-destination requests a second (13 per submit, a row
    in eight B-trees and its history in three). Left to grow, it reaches
    `_FALLBACK_AUTOCHECKPOINT` frames, where SQLite's own checkpoint runs inside a COMMIT on
    the loop's thread and stalls everything for its fsyncs.

    So once a checkpoint finds the WAL at `wal_pages` frames or more with COMMITs made beside
    it, the next one is due at once and awaited inside its COMMIT, turn held: no other writer
    of this process grows the WAL meanwhile, so that one copies only what was written during
    the one before, completes, and the WAL starts over. That holds the turn for its fsyncs
    (5-20 ms) once per `wal_pages` frames written (every second or two under a campaign).
    PASSIVE: no other process is kept waiting. One `Checkpointer` serves all the connections
    to a database.
    """

    def __init__(self, interval: float = 1.0, wal_pages: int = 16_000) -> None:
        self.interval = interval
        self.wal_pages = wal_pages
        self._due = 0.0
        self._running: asyncio.Future[None] | None = None
        # Frames in the WAL as the last checkpoint found it, or 0 if the WAL starts over: that
        # checkpoint copied every frame and no COMMIT of this process added any meanwhile.
        self._frames = 0
        # COMMITs of this process (`committed`), to tell whether any ran beside a checkpoint.
        self._commits = 0

    def committed(self) -> None:
        self._commits += 1

    def due(self) -> bool:
        return self._running is None and time.monotonic() >= self._due

    @property
    def must_wait(self) -> bool:
        """Whether the WAL has grown past its bound: the next checkpoint holds the turn."""
        return self._frames >= self.wal_pages

    def start(self, path: str, *, held: bool = False) -> asyncio.Future[None] | None:
        """Start a checkpoint in the loop's default executor; None if the loop takes no more
        work (it is closing). `held`: the caller holds the turn, so no COMMIT of this process
        runs beside it."""
        self._due = time.monotonic() + self.interval
        try:
            job = asyncio.get_running_loop().run_in_executor(
                None, self._checkpoint, path, held, self._commits
            )
        except RuntimeError:  # the loop is closing and its executor takes no more work
            return None
        self._running = job
        job.add_done_callback(self._ended)
        return job

    async def run(self, path: str) -> None:
        """A checkpoint, awaited. If this wait is cancelled, it runs to its end all the same."""
        job = self.start(path, held=True)
        if job is not None:
            await asyncio.shield(job)
            self._ended(job)

    async def settle(self) -> None:
        """Wait for the checkpoint running now, if any (one started on another event loop
        is left to that loop)."""
        job = self._running
        if job is not None and job.get_loop() is asyncio.get_running_loop():
            with contextlib.suppress(Exception):  # `_ended` logs it
                await asyncio.shield(job)
            # (Its done callback may not have run yet: a finished future is awaited without
            # a turn of the loop.)
            self._ended(job)

    def _ended(self, job: asyncio.Future[None]) -> None:
        if self._running is not job:
            return  # already seen
        self._running = None
        if not job.cancelled() and job.exception() is not None:
            log.warning("sqlite_checkpoint_failed", error=str(job.exception()))

    def _checkpoint(self, path: str, held: bool, commits: int) -> None:
        """One PASSIVE checkpoint; `commits`: how many COMMITs this process had made when it
        was started."""
        try:
            conn = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                found = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                conn.close()
            # (busy, frames in the WAL when it began, frames copied); -1s when the database is
            # not in WAL. Frames that COMMITs added meanwhile are in neither count.
            if found is None or found[1] < 0:
                return
            quiet = held or self._commits == commits
            self._frames = 0 if quiet and found[2] >= found[1] else found[1]
            if not held and self.must_wait:
                self._due = 0.0  # the held one now, while the frames it must copy are few
        except sqlite3.Error as error:
            log.warning("sqlite_checkpoint_failed", path=path, error=str(error))


async def connect(
    database: str,
    *,
    pragmas: Iterable[str] = (),
    checkpointer: Checkpointer | None = None,
    **kwargs: Any,
) -> InlineConnection:
    """Open `database` with `sqlite3.connect(database, **kwargs)`, then run `pragmas`.

    `timeout` (sqlite3's argument, 5 by default) is how long, in seconds, a statement may wait
    for another process's write lock before "database is locked" is raised. In WAL mode
    (`journal_mode=WAL` among the pragmas) it waits in `asyncio.sleep`; otherwise SQLite's
    blocking busy handler does the waiting. In WAL mode again, `checkpointer` takes the WAL's
    checkpoints off the loop.
    """
    timeout = float(kwargs.pop("timeout", 5.0))
    kwargs.pop("check_same_thread", None)
    kwargs.setdefault("cached_statements", 256)
    # Not tied to the thread that opened it: a pooled connection may serve another loop, on
    # another thread, later. The pool hands a connection to one user at a time.
    raw = sqlite3.connect(database, timeout=0, check_same_thread=False, **kwargs)
    conn = InlineConnection(raw, timeout=timeout)
    try:
        for pragma in pragmas:
            cursor = conn.cursor()
            await cursor.execute(f"PRAGMA {pragma}")
            await cursor.close()
        if raw.execute("PRAGMA journal_mode").fetchone() != ("wal",):
            # Outside WAL a transaction may wait for the lock it needs midway (to commit, or
            # to spill its cache), where a retry is unsafe: SQLite waits, blocking, as before.
            raw.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            conn._timeout = 0.0
        elif checkpointer is not None:
            raw.execute(f"PRAGMA wal_autocheckpoint={_FALLBACK_AUTOCHECKPOINT}")
            conn._checkpointer = checkpointer
            conn._path = raw.execute("PRAGMA database_list").fetchone()[2]
    except BaseException:
        raw.close()
        raise
    return conn


class _RunNow:
    """Stands in for aiosqlite's job queue, which SQLAlchemy's isolation-level setter uses."""

    __slots__ = ()

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, job = item
        try:
            future.set_result(job())
        except Exception as error:
            future.set_exception(error)


class InlineConnection:
    """An aiosqlite-shaped connection whose calls run on the caller's thread."""

    __slots__ = ("_checkpointer", "_connection", "_path", "_timeout", "_tx")

    def __init__(self, raw: sqlite3.Connection, *, timeout: float) -> None:
        # aiosqlite's names: `_connection` is None once closed, `_conn` raises then.
        self._connection: sqlite3.Connection | None = raw
        self._tx = _RunNow()
        self._timeout = timeout
        self._checkpointer: Checkpointer | None = None
        self._path = ""

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def commit(self) -> None:
        raw = self._conn
        if not raw.in_transaction:
            return  # nothing to commit, and no reason to checkpoint
        try:
            raw.commit()
        except sqlite3.OperationalError as error:
            # A COMMIT refused as busy leaves the transaction open, ready to be retried.
            if not _is_busy(error):
                raise
            await self._wait_and_retry(error, raw.commit)
        checkpointer = self._checkpointer
        if checkpointer is None:
            return
        checkpointer.committed()
        if checkpointer.due():
            if checkpointer.must_wait:
                await checkpointer.run(self._path)
            else:
                checkpointer.start(self._path)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close now, from any context (SQLAlchemy's terminate when no loop can be awaited)."""
        if self._connection is not None:
            raw, self._connection = self._connection, None
            raw.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def _wait_and_retry(self, error: sqlite3.OperationalError, call: Callable[[], _T]) -> _T:
        """Retry `call`, sleeping on the loop between tries, until `timeout` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        pause = _FIRST_PAUSE
        while loop.time() + pause <= deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
            try:
                return call()
            except sqlite3.OperationalError as again:
                if not _is_busy(again):
                    raise
                error = again
        raise error


class InlineCursor:
    """An aiosqlite-shaped cursor over a `sqlite3.Cursor`."""

    __slots__ = ("_connection", "_cursor")

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        cursor = self._cursor
        began_outside = not cursor.connection.in_transaction
        try:
            cursor.execute(sql, parameters)
        except sqlite3.OperationalError as error:
            # Safe to run again only if the statement was its transaction's first: then the
            # refused write lock was all it tried to take, and it holds nothing. (Python's
            # sqlite3 opens a transaction just before the first INSERT/UPDATE/DELETE.)
            if not (began_outside and _is_busy(error)):
                raise
            await self._connection._wait_and_retry(error, lambda: cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> InlineCursor:
        cursor = self._cursor
        raw = cursor.connection
        rows = seq_of_parameters
        if not isinstance(rows, Sequence):
            rows = [*rows]
        began_outside = not raw.in_transaction
        changes = raw.total_changes
        try:
            cursor.executemany(sql, rows)
        except sqlite3.OperationalError as error:
            # As for `execute`, and nothing written yet: outside a transaction (autocommit),
            # the rows before the refused one would already be committed.
            if not (began_outside and raw.total_changes == changes and _is_busy(error)):
                raise
            await self._connection._wait_and_retry(error, lambda: cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row
