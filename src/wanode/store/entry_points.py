"""Named queries: entry points, the short links (and their QR codes) WhatsApp made for an app.

`code` is WhatsApp's code of the short link and `link` its deep link
(`https://wa.me/message/<code>`), the URL the QR code encodes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store.tables import entry_points


async def create(
    conn: AsyncConnection,
    *,
    code: str,
    app_id: str,
    prefilled_message: str,
    link: str,
    at: float,
) -> dict[str, Any]:
    row = {
        "code": code,
        "app_id": app_id,
        "prefilled_message": prefilled_message,
        "link": link,
        "created_at": at,
    }
    await conn.execute(entry_points.insert().values(**row))
    return row


async def get(conn: AsyncConnection, code: str) -> dict[str, Any] | None:
    query = sa.select(entry_points).where(entry_points.c.code == code)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_all(
    conn: AsyncConnection, *, app_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest first, of one app or of all."""
    query = sa.select(entry_points).order_by(
        entry_points.c.created_at.desc(), entry_points.c.code.desc()
    )
    if app_id is not None:
        query = query.where(entry_points.c.app_id == app_id)
    return [dict(row) for row in (await conn.execute(query.limit(limit))).mappings()]


async def delete(conn: AsyncConnection, code: str) -> bool:
    result = await conn.execute(entry_points.delete().where(entry_points.c.code == code))
    return bool(result.rowcount)
