"""Named queries for pacing: the messaging tier's set of reached customers, and the messages
pacing holds back.

The tier's decision is `wanode.pacing.tier.decide`; `reserve` reads the counts it needs and
writes its outcome in one transaction that no other reservation for the same app interleaves
with, so several dispatcher processes never reach more new customers than the tier allows
between them:

- on PostgreSQL, a transaction-scoped advisory lock per app serialises them;
- on SQLite, the first statement writes, which takes the database's one write lock for the
  rest of the transaction (a later write would instead fail a stale snapshot).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.pacing.tier import TIER_WINDOW, TierDecision, decide, window_start
from wanode.store import lifecycle
from wanode.store.tables import messages, reached_customers

# The advisory lock's first key: "tier" in ASCII, so wanode's locks are told apart from others.
_LOCK_CLASS = 0x74696572
# Messages released per statement (keeps the IN list well under every driver's limit).
_RELEASE_CHUNK = 500


@dataclass(frozen=True)
class Reach:
    """An app's rolling window now: customers in it and when the oldest of them leaves."""

    reached: int
    frees_at: float | None


async def reserve(
    conn: AsyncConnection, app_id: str, wa_id: str, *, limit: int | None, now: float
) -> TierDecision:
    """Take `wa_id`'s place in the app's rolling window, or say until when to hold.

    A customer already in the window is always allowed and stays in it 24 hours from `now`.
    Expired entries of the app are dropped on the way. Call it first in its transaction (on
    SQLite its first statement is what takes the write lock).
    """
    since = window_start(now)
    await _lock(conn, app_id)
    refreshed = await conn.execute(
        reached_customers.update()
        .where(
            reached_customers.c.app_id == app_id,
            reached_customers.c.wa_id == wa_id,
            reached_customers.c.reached_at > since,
        )
        .values(reached_at=now)
    )
    if refreshed.rowcount:
        return TierDecision.allow()
    await conn.execute(
        reached_customers.delete().where(
            reached_customers.c.app_id == app_id, reached_customers.c.reached_at <= since
        )
    )
    reached, oldest = (
        await conn.execute(
            sa.select(sa.func.count(), sa.func.min(reached_customers.c.reached_at)).where(
                reached_customers.c.app_id == app_id
            )
        )
    ).one()
    decision = decide(limit, reached=int(reached), oldest=oldest, now=now)
    if decision.allowed:
        # The customer's expired entry, if any, was deleted above: a plain insert.
        await conn.execute(
            reached_customers.insert().values(app_id=app_id, wa_id=wa_id, reached_at=now)
        )
    return decision


async def reach(conn: AsyncConnection, app_id: str, *, now: float) -> Reach:
    """How many customers are in the app's rolling window at `now`."""
    reached, oldest = (
        await conn.execute(
            sa.select(sa.func.count(), sa.func.min(reached_customers.c.reached_at)).where(
                reached_customers.c.app_id == app_id,
                reached_customers.c.reached_at > window_start(now),
            )
        )
    ).one()
    return Reach(int(reached), None if oldest is None else oldest + TIER_WINDOW)


async def held(conn: AsyncConnection, app_id: str) -> dict[str, int]:
    """Queued messages of the app that pacing holds, by reason (in flight ones excluded)."""
    rows = await conn.execute(
        sa.select(messages.c.held_reason, sa.func.count())
        .where(
            messages.c.app_id == app_id,
            messages.c.status == lifecycle.QUEUED,
            messages.c.held_reason.is_not(None),
            messages.c.lease_until.is_(None),
        )
        .group_by(messages.c.held_reason)
    )
    return {str(reason): int(count) for reason, count in rows}


async def release(conn: AsyncConnection, app_id: str, *, limit: int | None, now: float) -> int:
    """Make due the messages the tier holds that a raised `limit` now has room for; returns how
    many. None (unlimited) releases them all.

    The oldest held go first: each takes the next free place unless its customer is in the
    window already, or was taken by an earlier one (the same new customer twice takes one
    place). A released message is due at the time it was accepted, so the dispatcher claims the
    released in the order they came, ahead of newer work; it decides the tier for each again
    (a place taken meanwhile holds it anew).
    """
    since = window_start(now)
    await _lock(conn, app_id)
    held = (
        await conn.execute(
            sa.select(messages.c.transid, messages.c.wa_id)
            .where(
                messages.c.app_id == app_id,
                messages.c.status == lifecycle.QUEUED,
                messages.c.held_reason == "tier",
                messages.c.lease_until.is_(None),
            )
            .order_by(messages.c.created_at, messages.c.transid)
        )
    ).all()
    if not held:
        return 0
    chosen = [row.transid for row in held]
    if limit is not None:
        reached = set(
            (
                await conn.execute(
                    sa.select(reached_customers.c.wa_id).where(
                        reached_customers.c.app_id == app_id,
                        reached_customers.c.reached_at > since,
                    )
                )
            ).scalars()
        )
        free = limit - len(reached)
        chosen = []
        for row in held:
            if row.wa_id not in reached:
                if free <= 0:
                    continue
                free -= 1
                reached.add(row.wa_id)
            chosen.append(row.transid)
    for start in range(0, len(chosen), _RELEASE_CHUNK):
        await conn.execute(
            messages.update()
            .where(
                messages.c.transid.in_(chosen[start : start + _RELEASE_CHUNK]),
                messages.c.status == lifecycle.QUEUED,
                messages.c.lease_until.is_(None),
            )
            .values(next_attempt_at=messages.c.created_at, held_reason=None)
        )
    return len(chosen)


async def queued(conn: AsyncConnection, app_id: str) -> int:
    """The app's messages not yet handed to WhatsApp (held, waiting for a retry, or due)."""
    # Counted in the two partial indexes of queued messages (unclaimed, claimed), which hold
    # only what is queued, however long the app's history.
    total = 0
    for leased in (messages.c.lease_until.is_(None), messages.c.lease_until.is_not(None)):
        total += (
            await conn.execute(
                sa.select(sa.func.count()).where(
                    messages.c.status == lifecycle.QUEUED, leased, messages.c.app_id == app_id
                )
            )
        ).scalar_one()
    return int(total)


async def _lock(conn: AsyncConnection, app_id: str) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_CLASS, _lock_key(app_id))))


def _lock_key(app_id: str) -> int:
    """A signed 32-bit key for the app (a collision only makes two apps take turns)."""
    return int.from_bytes(hashlib.sha256(app_id.encode()).digest()[:4], "big", signed=True)
