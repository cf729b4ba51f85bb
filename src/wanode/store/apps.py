"""Named queries: apps (WhatsApp business numbers) and API keys."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import keyring
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
    "notify_signing",
    "created_at",
)


def new_app_id() -> str:
    return "a_" + "".join(secrets.choice("0123456789") for _ in range(18))


async def create_app(conn: AsyncConnection, **values: Any) -> dict[str, Any]:
    row = {"id": new_app_id(), "created_at": now(), **values}
    # Access token, app secret and verify token are stored encrypted, read back in clear.
    await conn.execute(apps.insert().values(**keyring.seal_values(keyring.of(conn), row, apps)))
    created = await get_app(conn, row["id"])
    assert created is not None
    return created


async def get_app(conn: AsyncConnection, app_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(apps).where(apps.c.id == app_id))).mappings().first()
    return keyring.open_row(keyring.of(conn), dict(row), apps) if row else None


async def list_apps(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(apps).order_by(apps.c.created_at))
    ring = keyring.of(conn)
    return [keyring.open_row(ring, dict(r), apps) for r in rows.mappings()]


async def update_app(conn: AsyncConnection, app_id: str, **values: Any) -> dict[str, Any] | None:
    if values:
        sealed = keyring.seal_values(keyring.of(conn), values, apps)
        await conn.execute(apps.update().where(apps.c.id == app_id).values(**sealed))
    return await get_app(conn, app_id)


async def delete_app(conn: AsyncConnection, app_id: str) -> bool:
    result = await conn.execute(apps.delete().where(apps.c.id == app_id))
    return bool(result.rowcount)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# What `GET /v1/keys` shows of a key: never the key, nor its hash.
PUBLIC_KEY_COLUMNS = ("id", "name", "prefix", "app_id", "admin", "created_at", "revoked_at")


async def create_key(
    conn: AsyncConnection, name: str = "default", *, app_id: str | None = None, admin: bool = False
) -> str:
    """Create an API key for `app_id`, or an admin key (`admin`, acting on every app): one of
    them, chosen explicitly. Only its hash is stored, so the key is returned this once."""
    if admin == (app_id is not None):
        raise ValueError("a key belongs to one app or is an admin key")
    key = "wk_" + secrets.token_urlsafe(32)
    await conn.execute(
        api_keys.insert().values(
            id="k_" + secrets.token_hex(8),
            name=name,
            key_hash=hash_key(key),
            prefix=key[:10],
            created_at=now(),
            app_id=app_id,
            admin=admin,
        )
    )
    return key


async def find_key(conn: AsyncConnection, key: str) -> dict[str, Any] | None:
    """The unrevoked key's id, app_id and admin flag; None for an unknown or revoked key."""
    query = sa.select(api_keys.c.id, api_keys.c.app_id, api_keys.c.admin).where(
        api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None)
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def key_is_valid(conn: AsyncConnection, key: str) -> bool:
    return await find_key(conn, key) is not None


async def get_key(conn: AsyncConnection, key_id: str) -> dict[str, Any] | None:
    query = sa.select(*(api_keys.c[c] for c in PUBLIC_KEY_COLUMNS)).where(api_keys.c.id == key_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_keys(conn: AsyncConnection, *, app_id: str | None = None) -> list[dict[str, Any]]:
    """Every key (revoked ones too), oldest first; with `app_id`, that app's keys only."""
    query = sa.select(*(api_keys.c[c] for c in PUBLIC_KEY_COLUMNS))
    if app_id is not None:
        query = query.where(api_keys.c.app_id == app_id)
    rows = await conn.execute(query.order_by(api_keys.c.created_at, api_keys.c.id))
    return [dict(r) for r in rows.mappings()]


async def revoke_key(conn: AsyncConnection, key_id: str, *, at: float) -> bool:
    """Revoke the key (kept, listed with its `revoked_at`); False if it was already revoked
    or does not exist."""
    result = await conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(result.rowcount)


async def count_keys(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(api_keys))).scalar_one())
