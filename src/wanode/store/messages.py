"""Named queries: the message outbox and its status history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import lifecycle
from wanode.store._sql import for_claim, insert_ignore
from wanode.store.tables import dr_deliveries, messages, status_events

# A message is refused once the clock is *past* its `expires_at` (`wanode.policy.expired`): a
# hold cut short by an expiry ends this long after it, so the claim it comes due for fails it.
EXPIRY_CHECK_DELAY = 0.001


async def enqueue(conn: AsyncConnection, rows: Sequence[dict[str, Any]], at: float) -> None:
    """Write accepted messages as `queued`, with the first history entry, in one go."""
    await enqueue_all(conn, [(rows, at)])


async def enqueue_all(
    conn: AsyncConnection, batches: Sequence[tuple[Sequence[dict[str, Any]], float]]
) -> None:
    """`enqueue` for several requests' rows (each batch accepted at its own time), in two
    statements."""
    queued = [
        {
            **row,
            "status": lifecycle.QUEUED,
            "status_at": at,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        for rows, at in batches
        for row in rows
    ]
    if not queued:
        return
    await conn.execute(messages.insert(), queued)
    await conn.execute(
        status_events.insert(),
        [
            {
                "transid": row["transid"],
                "status": lifecycle.QUEUED,
                "occurred_at": row["status_at"],
                "recorded_at": row["status_at"],
                "source": "api",
            }
            for row in queued
        ],
    )


async def claim(
    conn: AsyncConnection, *, at: float, lease_seconds: float, limit: int
) -> list[dict[str, Any]]:
    """Lease up to `limit` due queued messages to this worker; an expired lease frees a row.

    Each row comes with `in_doubt`: its last claim began a send (`mark_sending`) and its lease
    ran out with nothing recorded. Every way a claim ends (a recorded answer, a retry, a hold,
    a failure) clears the lease, so such a message was sent by a worker that stopped (or
    stalled past its lease) before it recorded the gateway's answer: it may have been sent.
    """
    due = for_claim(
        sa.select(messages.c.transid, messages.c.lease_until, messages.c.sending_at)
        .where(
            messages.c.status == lifecycle.QUEUED,
            messages.c.next_attempt_at <= at,
            sa.or_(messages.c.lease_until.is_(None), messages.c.lease_until < at),
        )
        .order_by(messages.c.next_attempt_at)
        .limit(limit),
        conn,
    )
    picked = (await conn.execute(due)).all()
    if not picked:
        return []
    in_doubt = {
        row.transid for row in picked if row.lease_until is not None and row.sending_at is not None
    }
    result = await conn.execute(
        messages.update()
        .where(messages.c.transid.in_([row.transid for row in picked]))
        .values(lease_until=at + lease_seconds, attempts=messages.c.attempts + 1, sending_at=None)
        .returning(*messages.c)
    )
    return [{**r, "in_doubt": r["transid"] in in_doubt} for r in result.mappings()]


async def mark_sending(
    conn: AsyncConnection, claims: Sequence[tuple[str, float]], *, at: float, lease_seconds: float
) -> set[str]:
    """Record that the sends of these claims ((transid, lease_until as claimed) each) begin, and
    give each a fresh lease from now; returns the transids still held by those claims.

    A claim whose lease ran out (a send that waited too long for its turn) may have been taken
    over by another claim, in this process or another: its `lease_until` is no longer the one
    claimed, so it is not marked and its sender must not send (`claim`'s other holder does).
    """
    if not claims:
        return set()
    result = await conn.execute(
        messages.update()
        .where(
            sa.tuple_(messages.c.transid, messages.c.lease_until).in_(list(claims)),
            messages.c.status == lifecycle.QUEUED,
        )
        .values(sending_at=at, lease_until=at + lease_seconds)
        .returning(messages.c.transid)
    )
    return set(result.scalars())


async def flag_possibly_duplicated(conn: AsyncConnection, transid: str) -> None:
    """Mark a message that WhatsApp may hold twice, for good."""
    await conn.execute(
        messages.update().where(messages.c.transid == transid).values(possibly_duplicated=True)
    )


async def reschedule(
    conn: AsyncConnection,
    transid: str,
    *,
    next_attempt_at: float,
    code: int | None,
    title: str,
    details: str,
    possibly_duplicated: bool = False,
) -> None:
    """Retry after a failed attempt; `possibly_duplicated` marks the message for good."""
    values: dict[str, Any] = {}
    if possibly_duplicated:
        values["possibly_duplicated"] = True
    await conn.execute(
        messages.update()
        .where(messages.c.transid == transid)
        .values(
            next_attempt_at=next_attempt_at,
            lease_until=None,
            error_code=code,
            error_title=title,
            error_details=details,
            held_reason=None,
            **values,
        )
    )


async def hold(conn: AsyncConnection, transid: str, *, next_attempt_at: float, reason: str) -> None:
    """Put a claimed message back until `next_attempt_at` without counting the claim as an
    attempt or touching its last error (`reason`, "pacing" or "tier", held it; nothing was
    tried)."""
    await hold_many(conn, [(transid, next_attempt_at)], reason=reason)


async def hold_many(
    conn: AsyncConnection, holds: Sequence[tuple[str, float]], *, reason: str
) -> None:
    """`hold` for many messages ((transid, next_attempt_at) each), in one statement.

    A hold never outlives the message's expiry: a message that expires first comes due just
    after its `expires_at` instead, and its claim then fails it (7705) on time. So a message
    the tier holds for hours, or one held while the service was down, gets its DR when it
    expires, not when the hold ends.
    """
    if not holds:
        return
    until = sa.bindparam("b_next_attempt_at", type_=sa.Double)
    expiry_check = messages.c.expires_at + EXPIRY_CHECK_DELAY
    await conn.execute(
        messages.update()
        .where(messages.c.transid == sa.bindparam("b_transid"))
        .values(
            next_attempt_at=sa.case(
                (
                    sa.and_(messages.c.expires_at.is_not(None), expiry_check < until),
                    expiry_check,
                ),
                else_=until,
            ),
            lease_until=None,
            held_reason=reason,
            # The claim counted one; a hold is not an attempt.
            attempts=messages.c.attempts - 1,
        ),
        [{"b_transid": transid, "b_next_attempt_at": at} for transid, at in holds],
    )


async def record_status(
    conn: AsyncConnection,
    transid: str,
    status: str,
    *,
    at: float,
    recorded_at: float,
    source: str,
    error: tuple[int | None, str, str] | None = None,
    wamid: str | None = None,
) -> bool:
    """Append `status` to the history and move the message forward if it is newer.

    Returns True when the message's current status advanced (a duplicate, or a late lower
    status such as `delivered` after `read`, is kept in the history but returns False).
    """
    update = StatusUpdate(transid, status, at, error, wamid)
    inserted = await insert_ignore(
        conn, status_events, _history_row(update, recorded_at, source), index=_HISTORY_KEY
    )
    if not inserted:
        return False
    values = _advance_values(update)
    result = await conn.execute(
        messages.update()
        .where(
            messages.c.transid == transid, messages.c.status.in_(lifecycle.superseded_by(status))
        )
        .values(**values)
    )
    return bool(result.rowcount)


async def get(conn: AsyncConnection, transid: str) -> dict[str, Any] | None:
    row = (
        (await conn.execute(sa.select(messages).where(messages.c.transid == transid)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def by_wamids(conn: AsyncConnection, wamids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not wamids:
        return {}
    rows = await conn.execute(sa.select(messages).where(messages.c.wamid.in_(list(wamids))))
    return {r["wamid"]: dict(r) for r in rows.mappings()}


async def history(conn: AsyncConnection, transid: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(status_events)
        .where(status_events.c.transid == transid)
        .order_by(status_events.c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def deliveries(conn: AsyncConnection, transid: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(dr_deliveries)
        .where(dr_deliveries.c.transid == transid)
        .order_by(dr_deliveries.c.id)
    )
    return [dict(r) for r in rows.mappings()]


async def count_by_status(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(
        sa.select(messages.c.status, sa.func.count()).group_by(messages.c.status)
    )
    return {status: int(n) for status, n in rows}


@dataclass(frozen=True)
class StatusUpdate:
    """One status for `record_statuses`: what `record_status` takes, as a value."""

    transid: str
    status: str
    at: float
    error: tuple[int | None, str, str] | None = None
    wamid: str | None = None


_HISTORY_KEY = ["transid", "status"]


def _history_row(update: StatusUpdate, recorded_at: float, source: str) -> dict[str, Any]:
    code, title, details = update.error if update.error else (None, None, None)
    return {
        "transid": update.transid,
        "status": update.status,
        "occurred_at": update.at,
        "recorded_at": recorded_at,
        "source": source,
        "error_code": code,
        "error_title": title,
        "error_details": details,
    }


def _advance_values(update: StatusUpdate) -> dict[str, Any]:
    """The message columns a status sets when it moves the message forward."""
    values: dict[str, Any] = {
        "status": update.status,
        "status_at": update.at,
        "lease_until": None,
        "held_reason": None,
    }
    if update.error:
        code, title, details = update.error
        values.update(error_code=code, error_title=title, error_details=details)
    if update.wamid:
        values.update(wamid=update.wamid, submitted_at=update.at)
    return values


async def record_statuses(
    conn: AsyncConnection, updates: Sequence[StatusUpdate], *, recorded_at: float, source: str
) -> list[bool]:
    """`record_status` for many statuses in a few statements; one flag per update, in order.

    The history takes every row at once (duplicates ignored); the messages concerned are read
    (locked on PostgreSQL, in transid order so two writers never wait on each other in a
    cycle; on SQLite the history insert already holds the one write lock), the updates are
    applied to them in order as `record_status` would, one by one, and each message is then
    written once with where it ended up.
    """
    if not updates:
        return []
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    insert = (
        dialect.insert(status_events)
        .on_conflict_do_nothing(index_elements=_HISTORY_KEY)
        .returning(status_events.c.transid, status_events.c.status)
    )
    result = await conn.execute(insert, [_history_row(u, recorded_at, source) for u in updates])
    new = {(row.transid, row.status) for row in result}
    transids = sorted({u.transid for u in updates if (u.transid, u.status) in new})
    current: dict[str, str] = {}
    if transids:
        query = (
            sa.select(messages.c.transid, messages.c.status)
            .where(messages.c.transid.in_(transids))
            .order_by(messages.c.transid)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=messages)
        current = {row.transid: row.status for row in await conn.execute(query)}
    advanced: list[bool] = []
    written: dict[str, dict[str, Any]] = {}
    for update in updates:
        key = (update.transid, update.status)
        status = current.get(update.transid)
        # A status recorded twice in one call counts once, like a duplicate across calls.
        moves = key in new and status is not None and lifecycle.advances(status, update.status)
        if moves:
            new.discard(key)
            current[update.transid] = update.status
            written.setdefault(update.transid, {}).update(_advance_values(update))
        advanced.append(moves)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for transid, values in written.items():
        by_columns.setdefault(tuple(sorted(values)), []).append({"_transid": transid, **values})
    for columns, rows in by_columns.items():
        stmt = (
            messages.update()
            .where(messages.c.transid == sa.bindparam("_transid"))
            .values({name: sa.bindparam(name) for name in columns})
        )
        await conn.execute(stmt, rows)
    return advanced
