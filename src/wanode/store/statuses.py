"""Named queries: the inbox of status webhooks waiting to be applied."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _raw
from wanode.store._sql import insert_ignore_many
from wanode.store.tables import messages, webhook_statuses


async def store_many(
    conn: AsyncConnection, rows: list[dict[str, Any]], *, last: bool = False
) -> None:
    """Keep a webhook's statuses, in one statement; a duplicate (same wamid and status) is
    ignored. `last`: nothing follows in the transaction (see `_raw`)."""
    await insert_ignore_many(conn, webhook_statuses, rows, index=["wamid", "status"], last=last)


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
_READY_SELECT = "SELECT " + ", ".join(
    [*(f"webhook_statuses.{c}" for c in _STATUS_COLUMNS)]
    + [f"messages.{c}" for c in _MESSAGE_COLUMNS]
)
# PostgreSQL: how many statuses of the same message are older (in the statement's snapshot).
_EARLIER = (
    "(SELECT count(*) FROM webhook_statuses AS older"
    " WHERE older.wamid = webhook_statuses.wamid"
    " AND (older.occurred_at, older.id) < (webhook_statuses.occurred_at, webhook_statuses.id))"
)
_READY_FROM = (
    " FROM webhook_statuses JOIN messages ON messages.wamid = webhook_statuses.wamid"
    " ORDER BY webhook_statuses.occurred_at, webhook_statuses.id"
)
_READY = _raw.Sql(
    f"{_READY_SELECT}{_READY_FROM} LIMIT ?",
    f"{_READY_SELECT}, {_EARLIER}{_READY_FROM} LIMIT $1"
    " FOR UPDATE OF webhook_statuses, messages SKIP LOCKED",
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

    In order also means none is applied before an older status of its message. On PostgreSQL
    a status row can be locked by a transaction that skipped it: `SKIP LOCKED` takes a join
    row's locks one table at a time and keeps the status's lock when its message's is held
    by another processor. A later pass of that other processor would find the message free
    and the status behind the locked one (a `read` behind a `delivered`) ready, apply it
    first, and the `delivered` would then move nothing (no 7500). So the statuses of a message
    from the first one whose older status is missing from the batch are left to a later pass
    (they stay locked until this transaction ends, then are free again).
    """
    rows = await _raw.fetch(conn, _READY, [limit])
    names = _READY_NAMES
    if _raw.kind(conn) != _raw.ASYNCPG:
        # SQLite locks no rows: none is skipped, none missing.
        return [dict(zip(names, row, strict=True)) for row in rows]
    width = len(names)
    found: list[dict[str, Any]] = []
    taken: dict[str, int] = {}
    held: set[str] = set()
    wamid_at = names.index("wamid")
    for row in rows:
        wamid = row[wamid_at]
        if wamid in held:
            continue
        seen = taken.get(wamid, 0)
        if row[width] != seen:
            # An older status of this message is missing from the batch.
            held.add(wamid)
            continue
        taken[wamid] = seen + 1
        # The row's last value is the count: `zip` stops at the names.
        found.append(dict(zip(names, row, strict=False)))
    return found


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
