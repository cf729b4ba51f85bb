"""Engine creation and migrations for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from wanode.store import _inline_sqlite, _kept
from wanode.store import keyring as keyring_module
from wanode.store.keyring import Keyring

MIGRATIONS = Path(__file__).with_name("migrations")
# Set while a task holds its database's SQLite turn (see `Database.begin`).
_in_turn: contextvars.ContextVar[bool] = contextvars.ContextVar("wanode_sqlite_turn", default=False)
# Processes started together on one PostgreSQL database migrate one after the other: the
# first applies the migrations, the others find them applied.
_MIGRATION_LOCK = 0x77616E6F6465  # "wanode"
_SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON")
# Where a pooled PostgreSQL connection's record keeps the time it went back to the pool.
_CHECKED_IN = "wanode_checked_in"

SqliteDriver = Literal["inline", "aiosqlite"]


def _dump_json(value: Any) -> str:
    """JSON columns through orjson (several times faster than the stdlib on the hot path's
    payloads); what orjson refuses (integers past 64 bits) falls back to the stdlib."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


_ANNOUNCED = "wanode.announced"


def announce(conn: AsyncConnection, topic: str, values: Iterable[str]) -> None:
    """Tell `Database.listen(topic)`'s listeners about `values` once `conn`'s transaction has
    committed (a rolled back one tells nothing; what it noted may be told with the connection's
    next commit, which a hint can bear)."""
    conn.info.setdefault(_ANNOUNCED, {}).setdefault(topic, set()).update(values)


class Database:
    """One async engine and the migrations that shape it.

    `schema` (PostgreSQL only) puts wanode's tables in that schema (it must exist) instead of
    the database's default search path. Up to twice `pool_size` connections (PostgreSQL) are
    opened, as concurrency needs them, and every one is kept open: a peak's extra connections
    are not closed when they come back (closing and reopening them under load cost a connect,
    TLS negotiation included, per transaction). The pool hands out the connection used last
    (LIFO), so under steady load the same few connections stay warm and the rest sit idle.

    A PostgreSQL connection is not pinged on every checkout (`pool_pre_ping` cost three round
    trips per transaction: BEGIN, ";", ROLLBACK). One the driver already knows to be closed
    (the server restarted or killed it, a proxy dropped it) is replaced without a round trip;
    one that sat idle in the pool `ping_idle_after` seconds or longer is pinged first, and
    replaced, with every connection older than it, if the ping finds it dead. A statement that
    meets a dead connection fails (a `sqlalchemy.exc.DBAPIError` with `connection_invalidated`)
    and SQLAlchemy discards the whole pool's connections; the next transaction connects anew.

    `sqlite_driver` chooses how SQLite is reached. "inline" (the default) runs the stdlib
    sqlite3 on the event-loop thread (see `_inline_sqlite`): no thread hand-off at all, several
    times less CPU per transaction. "aiosqlite" is the threaded driver it replaced, kept as a
    fallback.

    `keyring` encrypts the stored secrets (`wanode.store.keyring`); every connection carries
    it to the queries. Without one, secrets are stored as given. An SQLite file (and its WAL
    and shared-memory files) is created 0600, and an existing one opened wider is tightened.
    """

    def __init__(
        self,
        url: str,
        *,
        connect_args: dict[str, Any] | None = None,
        schema: str | None = None,
        pool_size: int = 10,
        ping_idle_after: float = 5.0,
        sqlite_driver: SqliteDriver = "inline",
        keyring: Keyring | None = None,
    ) -> None:
        self.url = _asyncpg_sslmode(sa.make_url(url))
        self.keyring = keyring or Keyring()
        self._inline = self.is_sqlite and sqlite_driver == "inline"
        self._checkpointer: _inline_sqlite.Checkpointer | None = None
        # Transactions `begin` has committed (what a test counts: the inline driver's commits
        # bypass SQLAlchemy's "commit" event).
        self.commits = 0
        self._listeners: dict[str, list[Callable[[set[str]], None]]] = {}
        kwargs: dict[str, Any] = {"connect_args": dict(connect_args or {})}
        if schema is not None:
            if self.is_sqlite:
                raise ValueError("a database schema can only be chosen on PostgreSQL")
            server_settings = dict(kwargs["connect_args"].get("server_settings", {}))
            server_settings["search_path"] = schema
            kwargs["connect_args"]["server_settings"] = server_settings
        if self.is_sqlite:
            database = self.url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                _private_sqlite_files(Path(database))
            kwargs["connect_args"].setdefault("timeout", 30)
            if self._inline:
                kwargs["async_creator"] = self._inline_creator(kwargs.pop("connect_args"))
            elif sqlite_driver != "aiosqlite":
                raise ValueError(f"unknown SQLite driver {sqlite_driver!r}")
        else:
            kwargs.update(
                pool_size=2 * pool_size, max_overflow=0, pool_use_lifo=True, pool_pre_ping=False
            )
        kwargs.update(json_serializer=_dump_json, json_deserializer=orjson.loads)
        kwargs["execution_options"] = {keyring_module.OPTION: self.keyring}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite and not self._inline:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        if not self.is_sqlite:
            _check_idle_connections(self.engine, ping_idle_after)
        # Per event loop: the SQLite turn and the connections kept between transactions.
        self._keeper = _kept.Keeper(self.engine, most=pool_size, ping_idle_after=ping_idle_after)

    def _inline_creator(
        self, connect_args: dict[str, Any]
    ) -> Callable[[], Awaitable[_inline_sqlite.InlineConnection]]:
        checkpointer = self._checkpointer = _inline_sqlite.Checkpointer()

        async def connect() -> _inline_sqlite.InlineConnection:
            # The URL's own options (uri=true, ...) as the dialect reads them, then ours.
            args, options = self.engine.dialect.create_connect_args(self.url)
            options.update(connect_args)
            return await _inline_sqlite.connect(
                *args, pragmas=_SQLITE_PRAGMAS, checkpointer=checkpointer, **options
            )

        return connect

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def begin(self, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success.

        SQLite has one writer at a time, and a second writer waits in its busy handler, which
        sleeps in steps of up to 100 ms: under load that sleeping, not the work, set the pace.
        So on SQLite a process runs its transactions one after the other, queued on the loop,
        `urgent` ones (a request waiting to answer) before the others (`store/_turn.py`).

        The connection is one kept between transactions (`store/_kept.py`) where it can be:
        on PostgreSQL while fewer than `pool_size` are in transactions on this loop, on SQLite
        with the inline driver.
        """
        keeper = self._keeper
        if not self.is_sqlite:
            state = keeper.loop()
            held = await keeper.postgresql(state)
            if held is None:
                async with self.engine.begin() as conn:
                    yield conn
                    announced = conn.info.pop(_ANNOUNCED, None)
            else:
                async with keeper.transaction(state, held) as conn:
                    yield conn
                    announced = conn.info.pop(_ANNOUNCED, None)
            self._committed(announced)
            return
        if _in_turn.get():
            # A transaction opened inside another by the same task: it already has the turn.
            async with self.engine.begin() as conn:
                yield conn
                announced = conn.info.pop(_ANNOUNCED, None)
            self._committed(announced)
            return
        if self._inline:
            # Inline SQLite never suspends on its own: without this, a task running transaction
            # after transaction would keep every other task waiting (a turn of the loop: 3 µs).
            await asyncio.sleep(0)
        state = keeper.loop()
        turn = state.turn
        await turn.acquire(urgent=urgent)
        try:
            token = _in_turn.set(True)
            try:
                if not self._inline:
                    async with self.engine.begin() as conn:
                        yield conn
                        announced = conn.info.pop(_ANNOUNCED, None)
                else:
                    # The inline driver never suspends to roll back or close (only COMMIT may,
                    # to wait for a lock or a checkpoint; see `_inline_sqlite`), and the turn
                    # hands the loop's connection to one transaction at a time.
                    held = await keeper.sqlite(state)
                    async with keeper.transaction(state, held) as conn:
                        yield conn
                        announced = conn.info.pop(_ANNOUNCED, None)
            finally:
                _in_turn.reset(token)
        finally:
            turn.release()
        self._committed(announced)

    def listen(self, topic: str, listener: Callable[[set[str]], None]) -> None:
        """Call `listener` with what transactions `announce`d on `topic`, once each commits
        (in this process: a hint, such as which notify URLs have new DRs; never the data)."""
        self._listeners.setdefault(topic, []).append(listener)

    def _committed(self, announced: dict[str, set[str]] | None) -> None:
        self.commits += 1
        if announced:
            for topic, values in announced.items():
                for listener in self._listeners.get(topic, ()):
                    listener(values)

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            await conn.run_sync(_upgrade)
            # Under the migration lock: processes starting together seal plaintext once.
            await keyring_module.seal_stored(conn, self.keyring)

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            # A checkpoint a COMMIT started and did not wait for (`_inline_sqlite.Checkpointer`).
            await self._checkpointer.settle()
        await self._keeper.release_all()
        await self.engine.dispose()


def _upgrade(sync_conn: sa.Connection) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "head")


def _private_sqlite_files(path: Path) -> None:
    """The database file created 0600 (SQLite gives its -wal and -shm files the database
    file's mode), or tightened to 0600 with its companions if it exists wider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            keyring_module.private_file(name)


def _asyncpg_sslmode(url: sa.URL) -> sa.URL:
    """libpq's `sslmode=` in an asyncpg URL, which SQLAlchemy's asyncpg dialect would pass to
    `asyncpg.connect` as an unknown argument, as asyncpg's `ssl=` (which takes the same modes:
    disable, allow, prefer, require, verify-ca, verify-full). Without either, asyncpg does as
    libpq does: `prefer` (TLS if the server offers it); on loopback or a Unix socket,
    `?ssl=disable` saves the TLS request (and a TLS context's set-up) per connection."""
    if url.get_driver_name() != "asyncpg" or "sslmode" not in url.query or "ssl" in url.query:
        return url
    mode = url.query["sslmode"]
    return url.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})


def _check_idle_connections(engine: AsyncEngine, ping_idle_after: float) -> None:
    """Pool listeners standing in for `pool_pre_ping` (see `Database`): a connection is pinged
    on checkout only if it sat in the pool `ping_idle_after` seconds or longer."""
    dialect = engine.dialect

    def checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN)
        if checked_in is None:  # a new connection
            return
        driver = record.driver_connection
        is_closed = getattr(driver, "is_closed", None)
        if is_closed is not None and is_closed():
            # The driver saw the server close it (restart, pg_terminate_backend, a proxy).
            raise exc.DisconnectionError("the pooled connection was closed by the server")
        if time.monotonic() - checked_in < ping_idle_after:
            return
        # Inside the pool's checkout, which runs in SQLAlchemy's greenlet: the asyncpg
        # adapter's ping awaits through it.
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_connection, None):
                # As `pool_pre_ping` does: what killed this one (a restart, most often) killed
                # the connections older than it too.
                raise exc.InvalidatePoolError("the pooled connection failed its ping") from err
            raise

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
