"""Named queries: the message outbox and its status history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import lifecycle
from wanode.store._sql import for_claim, insert_ignore
from wanode.store.tables import dr_deliveries, messages, status_events


async def enqueue(conn: AsyncConnection, rows: Sequence[dict[str, Any]], at: float) -> None:
    """Write accepted messages as `queued`, with the first history entry, in one go."""
    if not rows:
        return
    await conn.execute(
        messages.insert(),
        [
            {
                **row,
                "status": lifecycle.QUEUED,
                "status_at": at,
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
            }
            for row in rows
        ],
    )
    await conn.execute(
        status_events.insert(),
        [
            {
                "transid": row["transid"],
                "status": lifecycle.QUEUED,
                "occurred_at": at,
                "recorded_at": at,
                "source": "api",
            }
            for row in rows
        ],
    )


async def claim(
    conn: AsyncConnection, *, at: float, lease_seconds: float, limit: int
) -> list[dict[str, Any]]:
    """Lease up to `limit` due queued messages to this worker; an expired lease frees a row."""
    due = for_claim(
        sa.select(messages.c.transid)
        .where(
            messages.c.status == lifecycle.QUEUED,
            messages.c.next_attempt_at <= at,
            sa.or_(messages.c.lease_until.is_(None), messages.c.lease_until < at),
        )
        .order_by(messages.c.next_attempt_at)
        .limit(limit),
        conn,
    )
    result = await conn.execute(
        messages.update()
        .where(messages.c.transid.in_(due.scalar_subquery()))
        .values(lease_until=at + lease_seconds, attempts=messages.c.attempts + 1)
        .returning(*messages.c)
    )
    return [dict(r) for r in result.mappings()]


async def reschedule(
    conn: AsyncConnection,
    transid: str,
    *,
    next_attempt_at: float,
    code: int | None,
    title: str,
    details: str,
) -> None:
    await conn.execute(
        messages.update()
        .where(messages.c.transid == transid)
        .values(
            next_attempt_at=next_attempt_at,
            lease_until=None,
            error_code=code,
            error_title=title,
            error_details=details,
        )
    )


async def hold(conn: AsyncConnection, transid: str, *, next_attempt_at: float) -> None:
    """Put a claimed message back until `next_attempt_at` without counting the claim as an
    attempt or touching its last error (pacing held it; nothing was tried)."""
    await conn.execute(
        messages.update()
        .where(messages.c.transid == transid)
        .values(
            next_attempt_at=next_attempt_at,
            lease_until=None,
            # The claim counted one; a hold is not an attempt.
            attempts=messages.c.attempts - 1,
        )
    )


async def record_status(
    conn: AsyncConnection,
    transid: str,
    status: str,
    *,
    at: float,
    recorded_at: float,
    source: str,
    error: tuple[int | None, str, str] | None = None,
    wamid: str | None = None,
) -> bool:
    """Append `status` to the history and move the message forward if it is newer.

    Returns True when the message's current status advanced (a duplicate, or a late lower
    status such as `delivered` after `read`, is kept in the history but returns False).
    """
    code, title, details = error if error else (None, None, None)
    inserted = await insert_ignore(
        conn,
        status_events,
        {
            "transid": transid,
            "status": status,
            "occurred_at": at,
            "recorded_at": recorded_at,
            "source": source,
            "error_code": code,
            "error_title": title,
            "error_details": details,
        },
        index=["transid", "status"],
    )
    if not inserted:
        return False
    values: dict[str, Any] = {"status": status, "status_at": at, "lease_until": None}
    if error:
        values.update(error_code=code, error_title=title, error_details=details)
    if wamid:
        values.update(wamid=wamid, submitted_at=at)
    result = await conn.execute(
        messages.update()
        .where(
            messages.c.transid == transid, messages.c.status.in_(lifecycle.superseded_by(status))
        )
        .values(**values)
    )
    return bool(result.rowcount)


async def get(conn: AsyncConnection, transid: str) -> dict[str, Any] | None:
    row = (
        (await conn.execute(sa.select(messages).where(messages.c.transid == transid)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def by_wamids(conn: AsyncConnection, wamids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not wamids:
        return {}
    rows = await conn.execute(sa.select(messages).where(messages.c.wamid.in_(list(wamids))))
    return {r["wamid"]: dict(r) for r in rows.mappings()}


async def history(conn: AsyncConnection, transid: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(status_events)
        .where(status_events.c.transid == transid)
        .order_by(status_events.c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def deliveries(conn: AsyncConnection, transid: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(dr_deliveries)
        .where(dr_deliveries.c.transid == transid)
        .order_by(dr_deliveries.c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def count_by_status(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(
        sa.select(messages.c.status, sa.func.count()).group_by(messages.c.status)
    )
    return {status: int(n) for status, n in rows}
