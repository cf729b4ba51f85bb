"""Outbox mechanics shared by the DR and subscriber-event outboxes: leasing rows in order per
thread, and ending a lease. A table qualifies with columns id, state, next_attempt_at,
lease_until and attempts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

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
) -> list[dict[str, Any]]:
    """Lease due rows, only the oldest pending one of each `thread` (rows equal on those
    columns), so each thread is delivered in `id` order. SKIP LOCKED on PostgreSQL lets
    several workers claim at once without taking the same row. `where` narrows the rows
    taken."""
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
        .order_by(table.c.id)
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
    conn: AsyncConnection, rows: Sequence[Finished], *, table: sa.Table, at: float
) -> None:
    """`finish` for many rows in one statement (executed once per row by the driver)."""
    if not rows:
        return
    await conn.execute(
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values(
            lease_until=None,
            state=sa.bindparam("b_state"),
            last_status_code=sa.bindparam("b_status_code"),
            last_error=sa.bindparam("b_error"),
            finished_at=at,
        ),
        [
            {
                "b_id": r.row_id,
                "b_state": r.state,
                "b_status_code": r.status_code,
                "b_error": r.error,
            }
            for r in rows
        ],
    )


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
