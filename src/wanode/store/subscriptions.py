"""Named queries: subscriber webhooks, and the outbox of inbound events posted to them.

The outbox mirrors `deliveries` (DRs): a row per (subscription, message), leased by `claim`,
then finished or rescheduled. Its order key is the thread, (subscription_id, wa_id): one
contact's events reach a subscriber in the order they were received, while other contacts'
events do not wait behind a slow or failing one.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _outbox, keyring
from wanode.store._outbox import PENDING, claim_in_order
from wanode.store._sql import insert_ignore
from wanode.store.tables import event_deliveries, subscriptions

DELIVERED = "delivered"
FAILED = "failed"


def new_subscription_id() -> str:
    return "sub_" + secrets.token_hex(12)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


async def create(
    conn: AsyncConnection,
    *,
    url: str,
    app_id: str | None,
    events: Sequence[str] | None,
    secret: str | None,
    at: float,
) -> dict[str, Any]:
    """The new subscription with its secret, generated unless given. The secret stays readable
    (it keys every signature) but the API shows it only in this answer."""
    row = {
        "id": new_subscription_id(),
        "app_id": app_id,
        "url": url,
        "secret": secret or new_secret(),
        "events": list(events) if events is not None else None,
        "created_at": at,
    }
    sealed = keyring.seal_values(keyring.of(conn), row, subscriptions)
    await conn.execute(subscriptions.insert().values(**sealed))
    return row


async def get(conn: AsyncConnection, subscription_id: str) -> dict[str, Any] | None:
    query = sa.select(subscriptions).where(subscriptions.c.id == subscription_id)
    row = (await conn.execute(query)).mappings().first()
    return keyring.open_row(keyring.of(conn), dict(row), subscriptions) if row else None


async def list_all(conn: AsyncConnection) -> list[dict[str, Any]]:
    query = sa.select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id)
    ring = keyring.of(conn)
    rows = (await conn.execute(query)).mappings()
    return [keyring.open_row(ring, dict(r), subscriptions) for r in rows]


async def delete(conn: AsyncConnection, subscription_id: str) -> bool:
    """Remove a subscription and the events still waiting for it (its history is kept)."""
    await conn.execute(
        event_deliveries.delete().where(
            event_deliveries.c.subscription_id == subscription_id,
            event_deliveries.c.state == PENDING,
        )
    )
    result = await conn.execute(subscriptions.delete().where(subscriptions.c.id == subscription_id))
    return bool(result.rowcount)


async def enqueue_event(
    conn: AsyncConnection,
    *,
    app_id: str,
    wa_id: str,
    wamid: str,
    event_name: str,
    body: dict[str, Any],
    at: float,
) -> int:
    """Queue `body` for every subscription to `event_name` on `app_id`; returns how many.

    A message already queued for a subscription is not queued again, so ingesting the same
    webhook twice forwards it once.
    """
    query = sa.select(subscriptions.c.id, subscriptions.c.url, subscriptions.c.events).where(
        sa.or_(subscriptions.c.app_id.is_(None), subscriptions.c.app_id == app_id)
    )
    queued = 0
    for sub in (await conn.execute(query)).mappings():
        # The event filter is a short JSON list; matching it here keeps the SQL portable.
        if sub["events"] is not None and event_name not in sub["events"]:
            continue
        queued += await insert_ignore(
            conn,
            event_deliveries,
            {
                "subscription_id": sub["id"],
                "wa_id": wa_id,
                "wamid": wamid,
                "url": sub["url"],
                "body": body,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
            },
            index=["subscription_id", "wamid"],
        )
    return queued


async def claim(
    conn: AsyncConnection,
    *,
    at: float,
    lease_seconds: float,
    limit: int,
    skip_subscriptions: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Lease due events, only the oldest pending one of each thread, each with its `secret`;
    none of `skip_subscriptions` (subscribers with as many events on their way as they may).

    A thread's next event waits while an earlier one is pending, leased or waiting to be
    retried; it moves on once that one is delivered or has failed for good.
    """
    where = (
        [event_deliveries.c.subscription_id.not_in(list(skip_subscriptions))]
        if skip_subscriptions
        else []
    )
    rows = await claim_in_order(
        conn,
        event_deliveries,
        thread=("subscription_id", "wa_id"),
        at=at,
        lease_seconds=lease_seconds,
        limit=limit,
        where=where,
    )
    if not rows:
        return rows
    # The secret is read at delivery time, not copied into the outbox, so it is stored once.
    query = sa.select(subscriptions.c.id, subscriptions.c.secret).where(
        subscriptions.c.id.in_(sorted({r["subscription_id"] for r in rows}))
    )
    # Stored encrypted; the keyring remembers what it decrypted, so a batch costs lookups.
    ring = keyring.of(conn)
    secret_of = {
        sub_id: ring.open(secret, what=f"subscriptions.secret of {sub_id}")
        for sub_id, secret in (await conn.execute(query)).all()
    }
    for row in rows:
        row["secret"] = secret_of.get(row["subscription_id"])
    return rows


async def list_deliveries(
    conn: AsyncConnection, subscription_id: str, *, limit: int = 50
) -> list[dict[str, Any]]:
    """The subscription's newest events first."""
    query = (
        sa.select(event_deliveries)
        .where(event_deliveries.c.subscription_id == subscription_id)
        .order_by(event_deliveries.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


# Ending a lease: delivered or given up (`finish`), or to be tried again (`retry_later`).
finish = partial(_outbox.finish, table=event_deliveries)
retry_later = partial(_outbox.retry_later, table=event_deliveries)
