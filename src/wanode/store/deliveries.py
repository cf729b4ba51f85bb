"""Named queries: the outbox of delivery reports to notify URLs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store._sql import for_claim
from wanode.store.tables import dr_deliveries

PENDING = "pending"
DELIVERED = "delivered"
GIVEN_UP = "given_up"


async def enqueue(
    conn: AsyncConnection, *, transid: str, status: str, url: str, body: dict[str, Any], at: float
) -> None:
    await conn.execute(
        dr_deliveries.insert().values(
            transid=transid,
            status=status,
            url=url,
            body=body,
            state=PENDING,
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
    )


async def claim(
    conn: AsyncConnection, *, at: float, lease_seconds: float, limit: int
) -> list[dict[str, Any]]:
    """Lease due DRs, only the oldest pending one of each message, so DRs arrive in order."""
    earlier = dr_deliveries.alias("earlier")
    blocked = sa.select(earlier.c.id).where(
        earlier.c.transid == dr_deliveries.c.transid,
        earlier.c.state == PENDING,
        earlier.c.id < dr_deliveries.c.id,
    )
    due = for_claim(
        sa.select(dr_deliveries.c.id)
        .where(
            dr_deliveries.c.state == PENDING,
            dr_deliveries.c.next_attempt_at <= at,
            sa.or_(dr_deliveries.c.lease_until.is_(None), dr_deliveries.c.lease_until < at),
            ~sa.exists(blocked),
        )
        .order_by(dr_deliveries.c.id)
        .limit(limit),
        conn,
    )
    result = await conn.execute(
        dr_deliveries.update()
        .where(dr_deliveries.c.id.in_(due.scalar_subquery()))
        .values(lease_until=at + lease_seconds, attempts=dr_deliveries.c.attempts + 1)
        .returning(*dr_deliveries.c)
    )
    return sorted((dict(r) for r in result.mappings()), key=lambda r: r["id"])


async def finish(
    conn: AsyncConnection,
    dr_id: int,
    *,
    state: str,
    status_code: int | None,
    error: str | None,
    at: float,
) -> None:
    await conn.execute(
        dr_deliveries.update()
        .where(dr_deliveries.c.id == dr_id)
        .values(
            state=state,
            last_status_code=status_code,
            last_error=error,
            finished_at=at,
            lease_until=None,
        )
    )


async def retry_later(
    conn: AsyncConnection,
    dr_id: int,
    *,
    next_attempt_at: float,
    status_code: int | None,
    error: str | None,
) -> None:
    await conn.execute(
        dr_deliveries.update()
        .where(dr_deliveries.c.id == dr_id)
        .values(
            next_attempt_at=next_attempt_at,
            last_status_code=status_code,
            last_error=error,
            lease_until=None,
        )
    )
