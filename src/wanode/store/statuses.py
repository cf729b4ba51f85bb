"""Named queries: the inbox of status webhooks waiting to be applied."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store._sql import for_claim, insert_ignore_many
from wanode.store.tables import messages, webhook_statuses


async def store_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Keep a webhook's statuses, in one statement; a duplicate (same wamid and status) is
    ignored."""
    await insert_ignore_many(conn, webhook_statuses, rows, index=["wamid", "status"])


async def ready(conn: AsyncConnection, *, limit: int) -> list[dict[str, Any]]:
    """Stored statuses whose message is known, oldest first, with what a DR needs of it.

    The statuses and their messages stay locked until the transaction ends, and rows another
    transaction holds are skipped (PostgreSQL): processors in several processes never apply
    one status twice, and the statuses of one message are applied by one processor at a time,
    in order.
    """
    query = for_claim(
        sa.select(
            webhook_statuses,
            messages.c.transid,
            messages.c.wa_id,
            messages.c.destination,
            messages.c.destination_type,
            messages.c.notify_url,
            messages.c.app_id,
            messages.c.notify_auth_id,
            messages.c.correlationid,
            messages.c.callback_data,
        )
        .join(messages, messages.c.wamid == webhook_statuses.c.wamid)
        .order_by(webhook_statuses.c.occurred_at, webhook_statuses.c.id)
        .limit(limit),
        conn,
        of=[webhook_statuses, messages],
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def remove(conn: AsyncConnection, ids: list[int]) -> None:
    if ids:
        await conn.execute(webhook_statuses.delete().where(webhook_statuses.c.id.in_(ids)))


async def drop_orphans(conn: AsyncConnection, *, received_before: float) -> int:
    """Forget statuses for wamids we never sent (or sent from another system)."""
    known = sa.select(messages.c.wamid).where(messages.c.wamid == webhook_statuses.c.wamid)
    result = await conn.execute(
        webhook_statuses.delete().where(
            webhook_statuses.c.received_at < received_before, ~sa.exists(known)
        )
    )
    return int(result.rowcount or 0)
