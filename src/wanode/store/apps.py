"""Named queries: apps (WhatsApp business numbers) and API keys."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store._sql import now
from wanode.store.tables import api_keys, apps

# Columns a reader of the API may see; secrets are write-only.
PUBLIC_APP_COLUMNS = (
    "id",
    "name",
    "phone_number_id",
    "waba_id",
    "display_phone_number",
    "gateway",
    "graph_base_url",
    "api_version",
    "require_e164",
    "opt_in_categories",
    "messaging_tier",
    "in_doubt",
    "notify_url",
    "created_at",
)


def new_app_id() -> str:
    return "a_" + "".join(secrets.choice("0123456789") for _ in range(18))


async def create_app(conn: AsyncConnection, **values: Any) -> dict[str, Any]:
    row = {"id": new_app_id(), "created_at": now(), **values}
    await conn.execute(apps.insert().values(**row))
    created = await get_app(conn, row["id"])
    assert created is not None
    return created


async def get_app(conn: AsyncConnection, app_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(apps).where(apps.c.id == app_id))).mappings().first()
    return dict(row) if row else None


async def list_apps(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(apps).order_by(apps.c.created_at))
    return [dict(r) for r in rows.mappings()]


async def update_app(conn: AsyncConnection, app_id: str, **values: Any) -> dict[str, Any] | None:
    if values:
        await conn.execute(apps.update().where(apps.c.id == app_id).values(**values))
    return await get_app(conn, app_id)


async def delete_app(conn: AsyncConnection, app_id: str) -> bool:
    result = await conn.execute(apps.delete().where(apps.c.id == app_id))
    return bool(result.rowcount)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(conn: AsyncConnection, name: str = "default") -> str:
    """Create an API key; only its hash is stored, so the key is returned this once."""
    key = "wk_" + secrets.token_urlsafe(32)
    await conn.execute(
        api_keys.insert().values(
            id="k_" + secrets.token_hex(8),
            name=name,
            key_hash=hash_key(key),
            prefix=key[:10],
            created_at=now(),
        )
    )
    return key


async def key_is_valid(conn: AsyncConnection, key: str) -> bool:
    query = sa.select(api_keys.c.id).where(
        api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None)
    )
    return (await conn.execute(query)).first() is not None


async def count_keys(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(api_keys))).scalar_one())
