"""Named queries: the outbox of delivery reports to notify URLs."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _outbox
from wanode.store._outbox import PENDING, claim_in_order
from wanode.store.tables import dr_deliveries

# What `finish_many` takes: one report that is done.
Finished = _outbox.Finished

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


async def enqueue_many(conn: AsyncConnection, reports: list[dict[str, Any]], *, at: float) -> None:
    """`enqueue` for many reports (each with transid, status, url and body) in one statement."""
    if reports:
        rows = [
            {**r, "state": PENDING, "attempts": 0, "next_attempt_at": at, "created_at": at}
            for r in reports
        ]
        await conn.execute(dr_deliveries.insert(), rows)


async def claim(
    conn: AsyncConnection, *, at: float, lease_seconds: float, limit: int
) -> list[dict[str, Any]]:
    """Lease due DRs, only the oldest pending one of each message, so DRs arrive in order."""
    return await claim_in_order(
        conn, dr_deliveries, thread=("transid",), at=at, lease_seconds=lease_seconds, limit=limit
    )


# Ending a lease: delivered or given up (`finish_many`), or to be tried again (`retry_later`).
finish_many = partial(_outbox.finish_many, table=dr_deliveries)
retry_later = partial(_outbox.retry_later, table=dr_deliveries)
