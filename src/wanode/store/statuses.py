"""Named queries: the inbox of status webhooks waiting to be applied."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _raw
from wanode.store._sql import insert_ignore_many
from wanode.store.tables import messages, webhook_statuses


async def store_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Keep a webhook's statuses, in one statement; a duplicate (same wamid and status) is
    ignored."""
    await insert_ignore_many(conn, webhook_statuses, rows, index=["wamid", "status"])


_STATUS_COLUMNS = tuple(c.name for c in webhook_statuses.c)
_MESSAGE_COLUMNS = (
    "transid",
    "wa_id",
    "destination",
    "destination_type",
    "notify_url",
    "app_id",
    "notify_auth_id",
    "correlationid",
    "callback_data",
)
_READY_NAMES = (*_STATUS_COLUMNS, *_MESSAGE_COLUMNS)
_READY_FROM = (
    "SELECT "
    + ", ".join(
        [*(f"webhook_statuses.{c}" for c in _STATUS_COLUMNS)]
        + [f"messages.{c}" for c in _MESSAGE_COLUMNS]
    )
    + " FROM webhook_statuses JOIN messages ON messages.wamid = webhook_statuses.wamid"
    " ORDER BY webhook_statuses.occurred_at, webhook_statuses.id"
)
_READY = _raw.Sql(
    f"{_READY_FROM} LIMIT ?",
    f"{_READY_FROM} LIMIT $1 FOR UPDATE OF webhook_statuses, messages SKIP LOCKED",
)
_REMOVE = _raw.Sql(
    "DELETE FROM webhook_statuses WHERE id IN (SELECT value FROM json_each(?))",
    "DELETE FROM webhook_statuses WHERE id = ANY($1::bigint[])",
)


async def ready(conn: AsyncConnection, *, limit: int) -> list[dict[str, Any]]:
    """Stored statuses whose message is known, oldest first, with what a DR needs of it.

    The statuses and their messages stay locked until the transaction ends, and rows another
    transaction holds are skipped (PostgreSQL): processors in several processes never apply
    one status twice, and the statuses of one message are applied by one processor at a time,
    in order.
    """
    names = _READY_NAMES
    return [dict(zip(names, row, strict=True)) for row in await _raw.fetch(conn, _READY, [limit])]


async def remove(conn: AsyncConnection, ids: list[int]) -> None:
    if ids:
        param = ids if _raw.kind(conn) == _raw.ASYNCPG else _raw.json_list(ids)
        await _raw.execute(conn, _REMOVE, [param])


async def drop_orphans(conn: AsyncConnection, *, received_before: float) -> int:
    """Forget statuses for wamids we never sent (or sent from another system)."""
    known = sa.select(messages.c.wamid).where(messages.c.wamid == webhook_statuses.c.wamid)
    result = await conn.execute(
        webhook_statuses.delete().where(
            webhook_statuses.c.received_at < received_before, ~sa.exists(known)
        )
    )
    return int(result.rowcount or 0)
