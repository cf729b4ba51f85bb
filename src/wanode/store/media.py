"""Named queries: media customers sent (`inbound_media`), and where its download stands.

A row is pending while it has neither `path` nor `error`; either one ends it. On PostgreSQL a
fetcher keeps the row locked while it downloads (`lock_pending`) and the others skip it. On
SQLite, finishing a row only moves it out of pending, so when two processes fetch the same
media the first to finish is the one recorded (their files are the same bytes at the same path).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store._sql import for_claim, insert_ignore
from wanode.store.tables import inbound_media

PENDING = "pending"
DOWNLOADED = "downloaded"
FAILED = "failed"

_PENDING = sa.and_(inbound_media.c.path.is_(None), inbound_media.c.error.is_(None))


def state(row: dict[str, Any]) -> str:
    if row["path"] is not None:
        return DOWNLOADED
    return FAILED if row["error"] is not None else PENDING


async def record(
    conn: AsyncConnection,
    *,
    media_id: str,
    wamid: str,
    app_id: str,
    mime_type: str | None,
    sha256: str | None,
    at: float,
) -> bool:
    """Keep media to download once (webhooks repeat); true when it was new."""
    return await insert_ignore(
        conn,
        inbound_media,
        {
            "media_id": media_id,
            "wamid": wamid,
            "app_id": app_id,
            "mime_type": mime_type,
            "sha256": sha256,
            "created_at": at,
        },
        index=["media_id"],
    )


async def get(conn: AsyncConnection, media_id: str) -> dict[str, Any] | None:
    query = sa.select(inbound_media).where(inbound_media.c.media_id == media_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def pending(
    conn: AsyncConnection, *, limit: int, skip: Collection[str] = ()
) -> list[dict[str, Any]]:
    """The oldest media still to download, leaving out `skip` (waiting for a retry) and what
    another fetcher has locked."""
    query = sa.select(inbound_media).where(_PENDING)
    if skip:
        query = query.where(inbound_media.c.media_id.not_in(list(skip)))
    query = query.order_by(inbound_media.c.created_at, inbound_media.c.media_id).limit(limit)
    return [dict(row) for row in (await conn.execute(for_claim(query, conn))).mappings()]


async def lock_pending(conn: AsyncConnection, media_id: str) -> bool:
    """Lock the row of `media_id` for this transaction if it is pending and no other fetcher
    holds it (PostgreSQL: SKIP LOCKED); false otherwise."""
    query = sa.select(inbound_media.c.media_id).where(
        inbound_media.c.media_id == media_id, _PENDING
    )
    return (await conn.execute(for_claim(query, conn))).first() is not None


async def downloaded(conn: AsyncConnection, media_id: str, *, path: str, size: int) -> bool:
    """Record the file (`path` relative to the media directory); false if already finished."""
    return await _finish(conn, media_id, path=path, size=size)


async def failed(conn: AsyncConnection, media_id: str, *, error: str) -> bool:
    """Record why the media cannot be downloaded; false if already finished."""
    return await _finish(conn, media_id, error=error)


async def _finish(conn: AsyncConnection, media_id: str, **values: Any) -> bool:
    stmt = inbound_media.update().where(inbound_media.c.media_id == media_id, _PENDING)
    result = await conn.execute(stmt.values(**values))
    return bool(result.rowcount)
