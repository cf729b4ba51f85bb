"""Prepared SQL text run straight on the driver connection, in the caller's transaction.

SQLAlchemy Core costs tens of microseconds per statement and a few per row (cache keys,
parameter processing, result rows) before the driver does anything; on the hot path that was
as much as SQLite's own work. The hottest statements are written here as SQL text, one text
per dialect, and run on the connection under the caller's `AsyncConnection`: the stdlib
`sqlite3` connection of the inline driver (whose statement cache prepares each text once), or
the asyncpg connection (whose statement cache does the same).

The statement runs in the transaction the `AsyncConnection` holds: SQLAlchemy's transaction is
begun if it was not yet (so its commit or rollback ends the raw statement's work too), unless
the connection is one `Database.begin` keeps between transactions (`_kept`), which ends the
driver's transaction itself when SQLAlchemy has none; and on PostgreSQL the adapter's lazily
begun asyncpg transaction is started before the statement (else the statement would
autocommit on its own). On SQLite the statement goes through the inline driver's cursor, with
its retry of a first write that found the database locked.

A statement run with `last` is its transaction's last (nothing may run after it: `_kept.LAST`
makes a raw statement after it raise). On PostgreSQL, on a kept connection whose transaction
ran nothing yet, it then runs on its own, without the BEGIN and COMMIT round trips: the server
commits it as it ends, as the transaction's COMMIT would have. (Measured with asyncpg, a row
inserted on its own cost 0.15 ms of the server's CPU and 0.11 of the client's; with BEGIN and
COMMIT, 0.26 and 0.29.) Anywhere else it runs as any other.

Values go in and come out as the driver takes and gives them: callers pass JSON columns
serialised with `dump_json` (what the engine's `json_serializer` writes) and decode what they
read with `load_json` on SQLite (asyncpg's codec, set up by SQLAlchemy, decodes JSON itself).
Other drivers (the threaded aiosqlite fallback) run the same text through
`exec_driver_sql`.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as _postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store._inline_sqlite import InlineConnection
from wanode.store._kept import KEPT, LAST, raise_translated
from wanode.store.db import _dump_json

dump_json = _dump_json

# The kinds of connection a raw statement may find under an `AsyncConnection`.
INLINE, ASYNCPG, OTHER_SQLITE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Sql:
    """One statement's text for each dialect: `?` placeholders on SQLite, `$n` on PostgreSQL.

    `postgresql_many`, when given, is the statement for many rows at once: the same work over
    `unnest` of one array per parameter (`many_rows` writes that source; `many_insert` and
    `update_by_key` whole statements). `execute_many` then runs it once on PostgreSQL, where
    it would otherwise run the statement once per row: each run is an executor start and a
    round of per-row work on the server (20-25 µs a row for a DR's insert, 13 µs over
    `unnest`). Only for rows with distinct keys: an UPDATE over `unnest` changes a row once,
    whichever of two rows for it the join finds.
    """

    sqlite: str
    postgresql: str
    postgresql_many: str = ""


def kind(conn: AsyncConnection) -> int:
    """Which driver runs `conn`'s statements (the connection must be started; like every call
    here, it begins SQLAlchemy's transaction if none is, unless the connection is kept)."""
    driver = _fairy(conn).driver_connection
    if isinstance(driver, InlineConnection):
        return INLINE
    return OTHER_SQLITE if conn.dialect.name == "sqlite" else ASYNCPG


def load_json(value: Any, kind_: int) -> Any:
    """A JSON column's value as read by a raw statement, decoded as SQLAlchemy would."""
    if kind_ == ASYNCPG or value is None:
        return value
    return orjson.loads(value)


def decode_rows(
    conn: AsyncConnection, table: sa.Table, names: Sequence[str], rows: Sequence[Any]
) -> list[dict[str, Any]]:
    """Rows of `table` (`names` its columns, in order) read by a raw statement, as SQLAlchemy
    would have given them: JSON decoded, booleans as booleans."""
    found = [dict(zip(names, row, strict=True)) for row in rows]
    kind_ = kind(conn)
    if kind_ != ASYNCPG:
        for column in table.c:
            if isinstance(column.type, sa.JSON):
                for row in found:
                    row[column.name] = load_json(row[column.name], kind_)
            elif isinstance(column.type, sa.Boolean):
                for row in found:
                    if row[column.name] is not None:
                        row[column.name] = bool(row[column.name])
    return found


def json_list(values: Sequence[Any]) -> str:
    """A list of strings or integers as one SQLite parameter, for `IN (SELECT value FROM
    json_each(?))`: one statement text whatever the list's length. (Not for floats: SQLite's
    own text-to-real conversion may differ in the last bit.)"""
    return orjson.dumps(list(values)).decode()


def _fairy(conn: AsyncConnection) -> Any:
    sync = conn.sync_connection
    if sync is None:
        raise sa.exc.InvalidRequestError("the connection is not started")
    if not sync.in_transaction() and conn not in KEPT:
        # Its commit (or rollback) is what ends the raw statement's transaction too. (A kept
        # connection's transaction is ended on the driver when SQLAlchemy has none open:
        # see `_kept`.)
        sync.begin()
    return sync.connection


def fetch(
    conn: AsyncConnection, sql: Sql, params: Sequence[Any] = (), *, last: bool = False
) -> Awaitable[list[Any]]:
    """The statement's rows, as tuples (SQLite) or asyncpg records (index them by position).
    `last`: the transaction's last statement (see the module's docstring)."""
    return _run(conn, sql, params, _ROWS, last)


def execute(
    conn: AsyncConnection, sql: Sql, params: Sequence[Any] = (), *, last: bool = False
) -> Awaitable[int]:
    """Run a statement that returns no rows; how many rows it changed."""
    return _run(conn, sql, params, _COUNT, last)


def execute_many(
    conn: AsyncConnection, sql: Sql, rows: Sequence[Sequence[Any]], *, last: bool = False
) -> Awaitable[None]:
    """Run a statement that returns no rows once for each of `rows`."""
    return _run(conn, sql, rows, _EACH, last)


# What `_run` does with its statement: fetch its rows, count the rows it changed, or run it
# once for each row of values.
_ROWS, _COUNT, _EACH = 0, 1, 2


async def _run(conn: AsyncConnection, sql: Sql, params: Any, how: int, last: bool) -> Any:
    """`fetch`, `execute` and `execute_many`: one dispatch to the driver for the three. (They
    hand back this coroutine rather than await it: no second coroutine per statement.)"""
    if how == _EACH and not params:
        return None
    if LAST and conn in LAST:
        raise RuntimeError("a statement after its transaction's last one (`last`)")
    fairy = _fairy(conn)
    if last and conn in KEPT:
        sync = conn.sync_connection
        LAST[conn] = sync is not None and sync.in_transaction()
    driver = fairy.driver_connection
    if isinstance(driver, InlineConnection):
        cursor = driver.cursor()
        try:
            if how == _EACH:
                await cursor.executemany(sql.sqlite, params)
                return None
            await cursor.execute(sql.sqlite, params)
            return await cursor.fetchall() if how == _ROWS else cursor.rowcount
        except sqlite3.Error as error:
            raise_translated(conn, None, sql.sqlite, params, error)
        finally:
            await cursor.close()
    if conn.dialect.name == "sqlite":
        if how == _EACH:
            await conn.exec_driver_sql(sql.sqlite, [tuple(row) for row in params])
            return None
        result = await conn.exec_driver_sql(sql.sqlite, tuple(params))
        return list(result.all()) if how == _ROWS else int(result.rowcount)
    adapter = fairy.dbapi_connection
    if adapter._transaction is None and not (last and LAST.get(conn) is False):
        await _begun(adapter)
    try:
        if how == _ROWS:
            return list(await driver.fetch(sql.postgresql, *params))
        if how == _EACH:
            if sql.postgresql_many:
                await driver.execute(sql.postgresql_many, *map(list, zip(*params, strict=True)))
            else:
                await driver.executemany(sql.postgresql, params)
            return None
        status = await driver.execute(sql.postgresql, *params)
    except Exception as error:
        text = sql.postgresql_many if how == _EACH and sql.postgresql_many else sql.postgresql
        raise_translated(conn, adapter, text, params, error)
    count = str(status).rsplit(" ", 1)[-1]
    return int(count) if count.isdigit() else 0


async def _begun(adapter: Any) -> None:
    """Start the asyncpg adapter's transaction, which it otherwise begins on its own first
    statement: a raw statement run before any would autocommit, outside the transaction."""
    if adapter._transaction is None:
        async with adapter._execute_mutex:
            if adapter._transaction is None:
                await adapter._start_transaction()


@functools.lru_cache(maxsize=256)
def sqlite_values(head: str, width: int, count: int, tail: str) -> str:
    """`head VALUES (?, ...), ... tail` for `count` rows of `width` values."""
    row = "(" + ", ".join("?" * width) + ")"
    return f"{head} VALUES {', '.join([row] * count)} {tail}"


def padded_chunks(rows: Sequence[Sequence[Any]], most: int = 128) -> Iterator[list[Sequence[Any]]]:
    """`rows` in chunks of at most `most`, each padded to a power of two by repeating its last
    row, so that a multi-row VALUES statement has a few texts (each prepared once) whatever
    the batch's size. Only for statements to which a repeated row makes no difference (an
    insert that ignores duplicates)."""
    for start in range(0, len(rows), most):
        chunk = list(rows[start : start + most])
        size = 1 << (len(chunk) - 1).bit_length()
        chunk.extend([chunk[-1]] * (size - len(chunk)))
        yield chunk


_PG = _postgresql.dialect()  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=256)
def many_rows(table: sa.Table, names: tuple[str, ...]) -> str:
    """`unnest($1::type[], ...) WITH ORDINALITY AS v(name, ..., n)`: the rows of a
    `postgresql_many` statement, one array parameter per column of `table` in `names` (a JSON
    column's as text: select it as `many_value`), numbered in order as `v.n`."""
    arrays = ", ".join(f"${n}::{_array_type(table.c[name])}" for n, name in enumerate(names, 1))
    return f"unnest({arrays}) WITH ORDINALITY AS v({', '.join(names)}, n)"


def many_insert(
    table: sa.Table,
    columns: Sequence[str],
    values: Sequence[str],
    params: tuple[str, ...],
    tail: str = "",
) -> str:
    """INSERT into `columns` of `table` of `values` (SQL text over the rows `v` of `params`,
    as `many_rows` names them), in the rows' order (ids drawn from a sequence follow it, as
    they do row by row), then `tail`."""
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(values)}"
        f" FROM {many_rows(table, params)} ORDER BY v.n{tail}"
    )


def many_value(table: sa.Table, name: str) -> str:
    """Column `name`'s value in `many_rows`' rows, as the column takes it."""
    return f"v.{name}::json" if isinstance(table.c[name].type, sa.JSON) else f"v.{name}"


def _array_type(column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.JSON):
        return "text[]"  # as dumped (`dump_json`)
    return f"{column.type.compile(dialect=_PG)}[]"


@functools.lru_cache(maxsize=128)
def update_by_key(table: sa.Table, columns: tuple[str, ...], key: str, also: str = "") -> Sql:
    """UPDATE `table` SET `columns` (and `also`, SQL text) WHERE `key` matches; parameters:
    the columns' values, then the key's. `execute_many` runs it once for all rows on
    PostgreSQL (whose keys must be distinct)."""
    extra = f", {also}" if also else ""
    sqlite_set = ", ".join(f"{name} = ?" for name in columns)
    pg_set = ", ".join(f"{name} = ${n}" for n, name in enumerate(columns, 1))
    many_set = ", ".join(f"{name} = {many_value(table, name)}" for name in columns)
    name = table.name
    return Sql(
        f"UPDATE {name} SET {sqlite_set}{extra} WHERE {key} = ?",
        f"UPDATE {name} SET {pg_set}{extra} WHERE {key} = ${len(columns) + 1}",
        # The key's array is also the index condition: the rows are found by key whichever
        # way the planner joins them to `unnest`.
        f"UPDATE {name} SET {many_set}{extra} FROM {many_rows(table, (*columns, key))}"
        f" WHERE {name}.{key} = v.{key} AND {name}.{key} = ANY(${len(columns) + 1})",
    )


# Column types whose values the drivers take as SQLAlchemy would pass them (JSON once dumped).
_PLAIN_TYPES = (sa.String, sa.Integer, sa.Float, sa.Boolean)


@functools.cache
def plain(table: sa.Table) -> bool:
    """Whether every column of `table` is of a type this layer passes as SQLAlchemy would."""
    return all(isinstance(c.type, (*_PLAIN_TYPES, sa.JSON)) for c in table.c)


@functools.lru_cache(maxsize=128)
def _insert_sql(
    table: sa.Table, columns: tuple[str, ...], ignore_on: tuple[str, ...] | None
) -> tuple[Sql, tuple[bool, ...]] | None:
    """The INSERT of `columns` into `table` (None when a column's type is not a plain one),
    and which columns are JSON."""
    if not plain(table):
        return None
    missing = [c for c in table.c if c.name not in columns]
    if any(c.default is not None for c in missing):
        return None  # SQLAlchemy would fill in a client-side default
    is_json = [isinstance(table.c[name].type, sa.JSON) for name in columns]
    tail = f" ON CONFLICT ({', '.join(ignore_on)}) DO NOTHING" if ignore_on else ""
    into = f"INSERT INTO {table.name} ({', '.join(columns)})"
    values = [many_value(table, name) for name in columns]
    return (
        Sql(
            f"{into} VALUES ({', '.join('?' * len(columns))}){tail}",
            f"{into} VALUES ({', '.join(f'${n}' for n in range(1, len(columns) + 1))}){tail}",
            many_insert(table, columns, values, columns, tail),
        ),
        tuple(is_json),
    )


async def insert_many(
    conn: AsyncConnection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    ignore_on: Sequence[str] | None = None,
    last: bool = False,
) -> bool:
    """Insert `rows` (each with the first row's keys, as SQLAlchemy's executemany takes them),
    ignoring those that conflict on `ignore_on` when given. False, having done nothing, when a
    column is of a type this layer does not convert (the caller then uses SQLAlchemy)."""
    if not rows:
        return True
    found = insert_rows(table, rows, ignore_on=ignore_on)
    if found is None:
        return False
    await execute_many(conn, *found, last=last)
    return True


def insert_rows(
    table: sa.Table, rows: Sequence[dict[str, Any]], *, ignore_on: Sequence[str] | None = None
) -> tuple[Sql, list[tuple[Any, ...]]] | None:
    """`insert_many`'s statement and its rows of values (for `execute_many`), or None when a
    column is of a type this layer does not convert. `rows` must not be empty."""
    columns = tuple(rows[0])
    found = _insert_sql(table, columns, tuple(ignore_on) if ignore_on else None)
    if found is None:
        return None
    sql, is_json = found
    if any(is_json):
        dump = _dump_json
        # None too, as SQLAlchemy's JSON type does: the JSON null, not SQL NULL.
        values = [
            tuple(dump(row[c]) if j else row[c] for c, j in zip(columns, is_json, strict=True))
            for row in rows
        ]
    else:
        values = [tuple(row[c] for c in columns) for row in rows]
    return sql, values
