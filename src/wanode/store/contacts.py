"""Named queries: what wanode learns about WhatsApp users."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store._sql import insert_ignore
from wanode.store.tables import contacts, inbound_messages


async def observe(
    conn: AsyncConnection,
    wa_id: str,
    *,
    at: float,
    profile_name: str | None = None,
    identity_key_hash: str | None = None,
    inbound_at: float | None = None,
) -> None:
    """Record what a webhook told us about `wa_id`; absent facts leave the stored ones alone."""
    await insert_ignore(
        conn,
        contacts,
        {"wa_id": wa_id, "created_at": at, "updated_at": at},
        index=["wa_id"],
    )
    values: dict[str, Any] = {"updated_at": at}
    if profile_name is not None:
        values["profile_name"] = profile_name
    if identity_key_hash is not None:
        values["identity_key_hash"] = identity_key_hash
    where = [contacts.c.wa_id == wa_id]
    if inbound_at is not None:
        values["last_inbound_at"] = sa.case(
            (
                sa.or_(
                    contacts.c.last_inbound_at.is_(None), contacts.c.last_inbound_at < inbound_at
                ),
                inbound_at,
            ),
            else_=contacts.c.last_inbound_at,
        )
    await conn.execute(contacts.update().where(*where).values(**values))


async def get(conn: AsyncConnection, wa_id: str) -> dict[str, Any] | None:
    row = (
        (await conn.execute(sa.select(contacts).where(contacts.c.wa_id == wa_id)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def store_inbound(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Keep an inbound message once; WhatsApp may deliver the same webhook twice."""
    return await insert_ignore(conn, inbound_messages, values, index=["wamid"])
