"""Outbox mechanics shared by the DR and subscriber-event outboxes: leasing rows in order per
thread, and ending a lease. A table qualifies with columns id, state, next_attempt_at,
lease_until and attempts."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _raw
from wanode.store._sql import for_claim

PENDING = "pending"


async def claim_in_order(
    conn: AsyncConnection,
    table: sa.Table,
    *,
    thread: tuple[str, ...],
    at: float,
    lease_seconds: float,
    limit: int,
    where: Sequence[sa.ColumnElement[bool]] = (),
    exclude: tuple[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """Lease due rows, only the oldest pending one of each `thread` (rows equal on those
    columns), so each thread is delivered in `id` order. SKIP LOCKED on PostgreSQL lets
    several workers claim at once without taking the same row. `where` narrows the rows
    taken; so does `exclude` (a text column, and values it must not have), in a raw statement.

    Across threads, the rows due first are taken first (`next_attempt_at`, then `id`): the
    order of the (state, next_attempt_at) index, which the claim then walks only until it has
    `limit` rows. In `id` order it read every due row and sorted them all, each time: under a
    campaign, the whole backlog of DRs per claim (a tenth of the batch lifecycle's CPU)."""
    if exclude is not None and not exclude[1]:
        exclude = None
    if not where and _raw.plain(table):
        sql, names = claim_sql(table, thread, exclude[0] if exclude else None)
        params = claim_params(
            conn, at=at, lease_seconds=lease_seconds, limit=limit, exclude=exclude
        )
        rows = await _raw.fetch(conn, sql, params)
        return sorted(_raw.decode_rows(conn, table, names, rows), key=lambda r: r["id"])
    if exclude is not None:
        where = [*where, table.c[exclude[0]].not_in(list(exclude[1]))]
    earlier = table.alias("earlier")
    blocked = sa.select(earlier.c.id).where(
        *(earlier.c[name] == table.c[name] for name in thread),
        earlier.c.state == PENDING,
        earlier.c.id < table.c.id,
    )
    due = for_claim(
        sa.select(table.c.id)
        .where(
            table.c.state == PENDING,
            table.c.next_attempt_at <= at,
            sa.or_(table.c.lease_until.is_(None), table.c.lease_until < at),
            ~sa.exists(blocked),
            *where,
        )
        .order_by(table.c.next_attempt_at, table.c.id)
        .limit(limit),
        conn,
    )
    result = await conn.execute(
        table.update()
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(lease_until=at + lease_seconds, attempts=table.c.attempts + 1)
        .returning(*table.c)
    )
    return sorted((dict(r) for r in result.mappings()), key=lambda r: r["id"])


def claim_params(
    conn: AsyncConnection,
    *,
    at: float,
    lease_seconds: float,
    limit: int,
    exclude: tuple[str, Sequence[str]] | None,
) -> list[Any]:
    """The parameters of `claim_sql`'s statement (`exclude` None when it excludes nothing)."""
    params: list[Any] = [at + lease_seconds, at, limit]
    if exclude is not None:
        values = list(exclude[1])
        params.append(values if _raw.kind(conn) == _raw.ASYNCPG else _raw.json_list(values))
    return params


@functools.cache
def claim_sql(
    table: sa.Table, thread: tuple[str, ...], exclude: str | None
) -> tuple[_raw.Sql, tuple[str, ...]]:
    """`claim_in_order`'s statement without `where`, as raw SQL; parameters (`claim_params`):
    the new lease's end, now, the limit, and with `exclude` (a text column) the values it must
    not have. The state is written out ('pending') so that the partial indexes on pending rows
    serve the candidates and, on SQLite, the probe for earlier rows.

    On PostgreSQL the probe is found by the thread's columns alone, in their full index: its
    state and id are compared as `state || ''` and `id + 0`, which no index serves, and it ends
    in `OFFSET 0`, which keeps it a subquery run per candidate row. Left free, the planner, whose
    statistics on a queue hold however many rows were pending when it last looked (few, before
    a campaign, as autovacuum finds them), turned the probe into a join, or a scan of the
    pending rows (or of every earlier id), that read hundreds of rows for each candidate: with
    300 pending, 5-300 ms a claim and 2-7 ms of the server's CPU per message."""
    name = table.name
    names = tuple(c.name for c in table.c)
    same_thread = " AND ".join(f"earlier.{c} = {name}.{c}" for c in thread)
    due = (
        f"SELECT {name}.id FROM {name} WHERE {name}.state = '{PENDING}'"
        f" AND {name}.next_attempt_at <= {{now}}"
        f" AND ({name}.lease_until IS NULL OR {name}.lease_until < {{now}})"
        f" AND NOT EXISTS (SELECT earlier.id FROM {name} AS earlier WHERE {same_thread}"
        f" AND earlier.{{state}} = '{PENDING}' AND earlier.{{id}} < {name}.id{{fence}})"
        f"{{exclude}} ORDER BY {name}.next_attempt_at, {name}.id LIMIT {{limit}}"
    )
    update = (
        f"UPDATE {name} SET lease_until = {{until}}, attempts = {name}.attempts + 1"
        f" WHERE {name}.id IN ({{due}}) RETURNING {', '.join(names)}"
    )
    sqlite_exclude = pg_exclude = ""
    if exclude is not None:
        sqlite_exclude = f" AND {name}.{exclude} NOT IN (SELECT value FROM json_each(?4))"
        pg_exclude = f" AND {name}.{exclude} <> ALL($4::text[])"
    sqlite_due = due.format(
        now="?2", limit="?3", exclude=sqlite_exclude, state="state", id="id", fence=""
    )
    pg_due = (
        due.format(
            now="$2",
            limit="$3",
            exclude=pg_exclude,
            state="state || ''",
            id="id + 0",
            fence=" OFFSET 0",
        )
        + " FOR UPDATE SKIP LOCKED"
    )
    return (
        _raw.Sql(
            update.format(until="?1", due=sqlite_due),
            update.format(until="$1", due=pg_due),
        ),
        names,
    )


async def release(conn: AsyncConnection, table: sa.Table, row_id: int, **values: Any) -> None:
    """End a row's lease, recording what the attempt changed."""
    await conn.execute(
        table.update().where(table.c.id == row_id).values(lease_until=None, **values)
    )


async def finish(
    conn: AsyncConnection,
    row_id: int,
    *,
    table: sa.Table,
    state: str,
    status_code: int | None,
    error: str | None,
    at: float,
) -> None:
    """The row is done (delivered, or given up): it leaves the outbox."""
    await release(
        conn,
        table,
        row_id,
        state=state,
        last_status_code=status_code,
        last_error=error,
        finished_at=at,
    )


@dataclass(frozen=True)
class Finished:
    """One row that is done, for `finish_many`."""

    row_id: int
    state: str
    status_code: int | None
    error: str | None


async def finish_many(
    conn: AsyncConnection,
    rows: Sequence[Finished],
    *,
    table: sa.Table,
    at: float,
    last: bool = False,
) -> None:
    """`finish` for many rows in one statement (once per row on SQLite); a row given twice
    ends as its last mention says. `last`: nothing follows in the transaction (see `_raw`)."""
    if not rows:
        return
    latest = {r.row_id: (r.state, r.status_code, r.error, at, r.row_id) for r in rows}
    await _raw.execute_many(conn, _finish_sql(table), list(latest.values()), last=last)


def _finish_sql(table: sa.Table) -> _raw.Sql:
    """`finish_many`'s UPDATE; parameters: state, status code, error, finished_at, id."""
    columns = ("state", "last_status_code", "last_error", "finished_at")
    return _raw.update_by_key(table, columns, "id", also="lease_until = NULL")


@dataclass(frozen=True)
class Retry:
    """One row to try again at `next_attempt_at`, for `retry_many`."""

    row_id: int
    next_attempt_at: float
    status_code: int | None
    error: str | None


async def retry_many(conn: AsyncConnection, rows: Sequence[Retry], *, table: sa.Table) -> None:
    """`retry_later` for many rows in one statement."""
    if not rows:
        return
    await conn.execute(
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values(
            lease_until=None,
            next_attempt_at=sa.bindparam("b_next"),
            last_status_code=sa.bindparam("b_status_code"),
            last_error=sa.bindparam("b_error"),
        ),
        [
            {
                "b_id": r.row_id,
                "b_next": r.next_attempt_at,
                "b_status_code": r.status_code,
                "b_error": r.error,
            }
            for r in rows
        ],
    )


async def release_unattempted(
    conn: AsyncConnection, row_ids: Sequence[int], *, table: sa.Table
) -> None:
    """End the lease of claimed rows that were not tried after all: the claim counted an
    attempt for each, which is taken back."""
    if row_ids:
        await conn.execute(
            table.update()
            .where(table.c.id.in_(list(row_ids)))
            .values(lease_until=None, attempts=table.c.attempts - 1)
        )


async def retry_later(
    conn: AsyncConnection,
    row_id: int,
    *,
    table: sa.Table,
    next_attempt_at: float,
    status_code: int | None,
    error: str | None,
) -> None:
    """The attempt failed in a way worth retrying: the row waits until `next_attempt_at`."""
    await release(
        conn,
        table,
        row_id,
        next_attempt_at=next_attempt_at,
        last_status_code=status_code,
        last_error=error,
    )
