"""Small SQL helpers shared by the query modules."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _raw


def now() -> float:
    return time.time()


async def insert_ignore(
    conn: AsyncConnection, table: sa.Table, values: dict[str, Any], *, index: list[str]
) -> bool:
    """Insert unless a row with the same `index` columns exists. True when a row was inserted."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=index)
    result = await conn.execute(stmt)
    return bool(result.rowcount)


async def insert_ignore_many(
    conn: AsyncConnection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    index: list[str],
    last: bool = False,
) -> None:
    """`insert_ignore` for many rows (all with the same columns) in one statement. `last`:
    nothing follows it in the transaction (see `_raw`)."""
    if rows and not await _raw.insert_many(conn, table, rows, ignore_on=index, last=last):
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=index)
        await conn.execute(stmt, list(rows))


def for_claim(
    stmt: sa.Select[Any], conn: AsyncConnection, *, of: Sequence[sa.Table] | None = None
) -> sa.Select[Any]:
    """Row locking for claims: SKIP LOCKED on PostgreSQL (on the rows of `of` only, when
    given); SQLite serialises writers anyway."""
    if conn.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, of=of)
    return stmt
