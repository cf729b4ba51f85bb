"""Named queries: the outbox of delivery reports to notify URLs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store._outbox import PENDING, claim_in_order, release
from wanode.store.tables import dr_deliveries

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
    return await claim_in_order(
        conn, dr_deliveries, thread=("transid",), at=at, lease_seconds=lease_seconds, limit=limit
    )


async def finish(
    conn: AsyncConnection,
    dr_id: int,
    *,
    state: str,
    status_code: int | None,
    error: str | None,
    at: float,
) -> None:
    await release(
        conn,
        dr_deliveries,
        dr_id,
        state=state,
        last_status_code=status_code,
        last_error=error,
        finished_at=at,
    )


async def retry_later(
    conn: AsyncConnection,
    dr_id: int,
    *,
    next_attempt_at: float,
    status_code: int | None,
    error: str | None,
) -> None:
    await release(
        conn,
        dr_deliveries,
        dr_id,
        next_attempt_at=next_attempt_at,
        last_status_code=status_code,
        last_error=error,
    )
