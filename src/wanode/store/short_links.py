"""Named queries: short links (wanode.messages.links) and the clicks on them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store.tables import link_clicks, messages, short_links


async def create_many(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Write short links (each with every column of `short_links`) in one statement."""
    if rows:
        await conn.execute(short_links.insert(), list(rows))


async def get(conn: AsyncConnection, code: str) -> dict[str, Any] | None:
    """The short link `code`, expired or not (one read by the primary key)."""
    query = sa.select(short_links).where(short_links.c.code == code)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def of_message(conn: AsyncConnection, transid: str) -> list[dict[str, Any]]:
    """A message's short links, each with its number of clicks."""
    clicks = (
        sa.select(sa.func.count())
        .where(link_clicks.c.code == short_links.c.code)
        .scalar_subquery()
        .label("clicks")
    )
    query = (
        sa.select(short_links, clicks)
        .where(short_links.c.transid == transid)
        .order_by(short_links.c.created_at, short_links.c.code)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def record_clicks(conn: AsyncConnection, clicks: Sequence[dict[str, Any]]) -> None:
    """Write clicks (click_id, code, transid, clicked_at, recorded_at) in one statement."""
    if clicks:
        await conn.execute(link_clicks.insert(), list(clicks))


async def messages_of(conn: AsyncConnection, transids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The messages clicks were on, by transid, with what their reports need."""
    if not transids:
        return {}
    query = sa.select(
        messages.c.transid,
        messages.c.app_id,
        messages.c.wa_id,
        messages.c.destination,
        messages.c.destination_type,
        messages.c.correlationid,
        messages.c.callback_data,
        messages.c.notify_url,
        messages.c.notify_auth_id,
    ).where(messages.c.transid.in_(sorted(set(transids))))
    return {r["transid"]: dict(r) for r in (await conn.execute(query)).mappings()}
