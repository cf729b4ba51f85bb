"""Named queries: notify-URL auth profiles, and the DRs parked for want of one."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.policy.notify_auth import SECRET_PARAMS, Profile
from wanode.store import keyring
from wanode.store._outbox import PENDING
from wanode.store.db import announce
from wanode.store.deliveries import QUEUED
from wanode.store.tables import dr_deliveries, notify_auth_profiles

# A DR whose auth profile does not exist (never made, or deleted): held, never posted without
# its credentials, and queued again once the profile exists (webex-connect.md §3).
PARKED = "parked"

table = notify_auth_profiles


def _profile(conn: AsyncConnection, row: Any) -> Profile:
    values = keyring.open_row(keyring.of(conn), dict(row), table)
    params = {**values["params"], **orjson.loads(values["secrets"])}
    return Profile(values["id"], values["app_id"], values["kind"], params, values["updated_at"])


async def put(
    conn: AsyncConnection,
    *,
    profile_id: str,
    app_id: str,
    kind: str,
    params: dict[str, str],
    at: float,
) -> tuple[Profile, bool]:
    """Create or replace a profile; True when it was created. Another app's profile of that id
    raises LookupError (ids are the service's, as Webex's auth ids are the tenant's)."""
    plain = {k: v for k, v in params.items() if k not in SECRET_PARAMS}
    secret = {k: v for k, v in params.items() if k in SECRET_PARAMS}
    values = keyring.seal_values(
        keyring.of(conn),
        {"kind": kind, "params": plain, "secrets": orjson.dumps(secret).decode(), "updated_at": at},
        table,
    )
    found = (
        await conn.execute(sa.select(table.c.app_id).where(table.c.id == profile_id))
    ).scalar_one_or_none()
    if found is not None and found != app_id:
        raise LookupError(profile_id)
    if found is None:
        await conn.execute(
            table.insert().values(id=profile_id, app_id=app_id, created_at=at, **values)
        )
    else:
        await conn.execute(table.update().where(table.c.id == profile_id).values(**values))
    profile = await get(conn, profile_id)
    assert profile is not None
    return profile, found is None


async def get(conn: AsyncConnection, profile_id: str) -> Profile | None:
    row = (await conn.execute(sa.select(table).where(table.c.id == profile_id))).mappings().first()
    return None if row is None else _profile(conn, row)


async def list_for(conn: AsyncConnection, app_id: str | None) -> list[Profile]:
    query = sa.select(table).order_by(table.c.id)
    if app_id is not None:
        query = query.where(table.c.app_id == app_id)
    return [_profile(conn, row) for row in (await conn.execute(query)).mappings()]


async def delete(conn: AsyncConnection, profile_id: str) -> bool:
    result = await conn.execute(table.delete().where(table.c.id == profile_id))
    return bool(result.rowcount)


async def park(conn: AsyncConnection, ids: list[int]) -> None:
    """Hold these DRs (their profile is missing) until `unpark`."""
    if ids:
        await conn.execute(
            dr_deliveries.update()
            .where(dr_deliveries.c.id.in_(ids))
            .values(state=PARKED, lease_until=None)
        )


async def unpark(conn: AsyncConnection, *, app_id: str, auth_id: str, at: float) -> int:
    """Queue again the DRs parked for want of `auth_id` (of `app_id`'s messages): they keep
    their order, since each message's DRs were parked together. Returns how many."""
    result = await conn.execute(
        dr_deliveries.update()
        .where(
            dr_deliveries.c.state == PARKED,
            dr_deliveries.c.auth_id == auth_id,
            dr_deliveries.c.app_id == app_id,
        )
        .values(state=PENDING, next_attempt_at=at, lease_until=None)
        .returning(dr_deliveries.c.url)
    )
    urls = list(result.scalars())
    announce(conn, QUEUED, urls)
    return len(urls)


async def parked(conn: AsyncConnection, *, app_id: str | None, limit: int) -> list[dict[str, Any]]:
    query = (
        sa.select(dr_deliveries)
        .where(dr_deliveries.c.state == PARKED)
        .order_by(dr_deliveries.c.id)
        .limit(limit)
    )
    if app_id is not None:
        query = query.where(dr_deliveries.c.app_id == app_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]
