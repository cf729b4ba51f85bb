"""Named queries: the message outbox and its status history."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _raw, lifecycle
from wanode.store._sql import insert_ignore
from wanode.store.tables import dr_deliveries, messages, status_events

# A message is refused once the clock is *past* its `expires_at` (`wanode.policy.expired`): a
# hold cut short by an expiry ends this long after it, so the claim it comes due for fails it.
EXPIRY_CHECK_DELAY = 0.001


async def enqueue(conn: AsyncConnection, rows: Sequence[dict[str, Any]], at: float) -> None:
    """Write accepted messages as `queued`, with the first history entry, in one go."""
    await enqueue_all(conn, [(rows, at)])


async def enqueue_all(
    conn: AsyncConnection,
    batches: Sequence[tuple[Sequence[dict[str, Any]], float]],
    *,
    last: bool = False,
) -> None:
    """`enqueue` for several requests' rows (each batch accepted at its own time): in one
    statement on PostgreSQL, two on SQLite. `last`: nothing follows in the transaction
    (`_raw`: on PostgreSQL the statement is then the whole transaction)."""
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
    found = _raw.insert_rows(messages, queued)
    if found is not None and _raw.kind(conn) == _raw.ASYNCPG:
        insert, values = found
        await _raw.execute_many(conn, _with_history(insert), values, last=last)
        return
    if found is None:
        await conn.execute(messages.insert(), queued)
    else:
        await _raw.execute_many(conn, *found)
    await _raw.execute_many(
        conn,
        _QUEUED_HISTORY,
        [(row["transid"], row["status_at"]) for row in queued],
        last=last,
    )


_QUEUED_HISTORY_COLUMNS = ("transid", "status", "occurred_at", "recorded_at", "source")
_QUEUED_HISTORY_HEAD = f"INSERT INTO status_events ({', '.join(_QUEUED_HISTORY_COLUMNS)})"
_QUEUED_HISTORY = _raw.Sql(
    f"{_QUEUED_HISTORY_HEAD} VALUES (?1, '{lifecycle.QUEUED}', ?2, ?2, 'api')",
    f"{_QUEUED_HISTORY_HEAD} VALUES ($1, '{lifecycle.QUEUED}', $2, $2, 'api')",
    _raw.many_insert(
        status_events,
        _QUEUED_HISTORY_COLUMNS,
        ("v.transid", f"'{lifecycle.QUEUED}'", "v.occurred_at", "v.occurred_at", "'api'"),
        ("transid", "occurred_at"),
    ),
)


@functools.lru_cache(maxsize=16)
def _with_history(insert: _raw.Sql) -> _raw.Sql:
    """PostgreSQL: `insert` (the messages' rows, `_raw.insert_rows`) and their first history
    entries in one statement, the entries made of the rows it inserted."""
    return _raw.Sql(
        "",
        "",
        f"WITH queued AS ({insert.postgresql_many} RETURNING transid, status_at)"
        f" {_QUEUED_HISTORY_HEAD} SELECT transid, '{lifecycle.QUEUED}', status_at, status_at,"
        " 'api' FROM queued",
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
    # Leases run out first (rarely: a worker stopped or stalled), then the due rows in order.
    picked = await _raw.fetch(conn, _LAPSED, [at, limit])
    if len(picked) < limit:
        picked += await _raw.fetch(conn, _DUE, [at, limit - len(picked)])
    if not picked:
        return []
    # (transid, lease_until, sending_at) each.
    in_doubt = {row[0] for row in picked if row[1] is not None and row[2] is not None}
    transids = [row[0] for row in picked]
    kind = _raw.kind(conn)
    param = transids if kind == _raw.ASYNCPG else _raw.json_list(transids)
    rows = await _raw.fetch(conn, _LEASE, [at + lease_seconds, param])
    claimed = [dict(zip(_MESSAGE_NAMES, row, strict=True)) for row in rows]
    for message in claimed:
        if kind != _raw.ASYNCPG:
            message["payload"] = _raw.load_json(message["payload"], kind)
            message["possibly_duplicated"] = bool(message["possibly_duplicated"])
        message["in_doubt"] = message["transid"] in in_doubt
    return claimed


_MESSAGE_NAMES = tuple(c.name for c in messages.c)
# Each through a partial index of its own (migration 0015): the due rows that no claim holds,
# by when they are due, and the held ones, by when their lease runs out. One index of every
# queued row had each claim walk past the rows that earlier claims still held (and, on
# PostgreSQL, past the versions their updates left), some 3,600 entries a claim in a
# campaign of 3,000 messages.
_CLAIMABLE_TEXT = (
    "SELECT transid, lease_until, sending_at FROM messages"
    f" WHERE status = '{lifecycle.QUEUED}' AND {{which}} AND next_attempt_at <= {{now}}"
    " ORDER BY {order} LIMIT {limit}"
)


def _claimable(which: str, order: str) -> _raw.Sql:
    """The claim's select of `which` queued rows (`{now}` in it: now), in `order`; parameters:
    now and the limit."""
    sqlite, postgresql = (
        _CLAIMABLE_TEXT.format(which=which.format(now=now), now=now, order=order, limit=limit)
        for now, limit in (("?1", "?2"), ("$1", "$2"))
    )
    return _raw.Sql(sqlite, postgresql + " FOR UPDATE SKIP LOCKED")


_DUE = _claimable("lease_until IS NULL", "next_attempt_at")
_LAPSED = _claimable("lease_until IS NOT NULL AND lease_until < {now}", "lease_until")
_LEASE_TEXT = (
    "UPDATE messages SET lease_until = {until}, attempts = messages.attempts + 1,"
    f" sending_at = NULL WHERE transid IN ({{transids}}) RETURNING {', '.join(_MESSAGE_NAMES)}"
)
_LEASE = _raw.Sql(
    _LEASE_TEXT.format(until="?", transids="SELECT value FROM json_each(?)"),
    _LEASE_TEXT.format(until="$1", transids="SELECT unnest($2::varchar[])"),
)


async def mark_sending(
    conn: AsyncConnection,
    claims: Sequence[tuple[str, float]],
    *,
    at: float,
    lease_seconds: float,
    last: bool = False,
) -> set[str]:
    """Record that the sends of these claims ((transid, lease_until as claimed) each) begin, and
    give each a fresh lease from now; returns the transids still held by those claims.

    A claim whose lease ran out (a send that waited too long for its turn) may have been taken
    over by another claim, in this process or another: its `lease_until` is no longer the one
    claimed, so it is not marked and its sender must not send (`claim`'s other holder does).
    `last`: nothing follows in the transaction (see `_raw`).
    """
    if not claims:
        return set()
    until = at + lease_seconds
    if _raw.kind(conn) == _raw.ASYNCPG:
        params = [at, until, [t for t, _ in claims], [lease for _, lease in claims]]
        return {row[0] for row in await _raw.fetch(conn, _MARK_SENDING_PG, params, last=last)}
    held: set[str] = set()
    for chunk in _raw.padded_chunks(claims):
        text = _raw.sqlite_values(_MARK_SENDING_HEAD, 2, len(chunk), _MARK_SENDING_TAIL)
        transids = _raw.json_list([transid for transid, _ in chunk])
        flat = [at, until, transids, *(value for claim in chunk for value in claim)]
        held.update(row[0] for row in await _raw.fetch(conn, _raw.Sql(text, ""), flat))
    return held


# SQLite: `head VALUES (?, ?), ... tail`; parameters: the two values, the transids (a JSON
# list: SQLite finds the rows by them, as it would not by the pairs, and `+status` keeps it
# from scanning every queued message instead), then the (transid, lease_until) pairs.
_MARK_SENDING_HEAD = (
    "UPDATE messages SET sending_at = ?, lease_until = ?"
    " WHERE messages.transid IN (SELECT value FROM json_each(?))"
    f" AND +messages.status = '{lifecycle.QUEUED}'"
    " AND (messages.transid, messages.lease_until) IN ("
)
_MARK_SENDING_TAIL = ") RETURNING messages.transid"
# PostgreSQL: found by transid. (`IS NOT DISTINCT FROM`, which is `=` for a claim's lease, never
# NULL: with `=` the planner may take `ix_messages_leased` for the rows, as it does while its
# statistics are young, and walk every claim's entries, the batch's lease being shared.)
_MARK_SENDING_PG = _raw.Sql(
    "",
    "UPDATE messages SET sending_at = $1, lease_until = $2"
    " FROM unnest($3::varchar[], $4::float8[]) AS claimed(transid, lease_until)"
    " WHERE messages.transid = claimed.transid"
    " AND messages.lease_until IS NOT DISTINCT FROM claimed.lease_until"
    f" AND messages.status = '{lifecycle.QUEUED}' RETURNING messages.transid",
)


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
    await _raw.execute_many(conn, _HOLD, [(at, reason, transid) for transid, at in holds])


# Parameters: the hold's end, its reason, the transid. The claim counted one attempt; a hold is
# not one.
_HOLD_SET = (
    "next_attempt_at = CASE WHEN messages.expires_at IS NOT NULL"
    f" AND messages.expires_at + {EXPIRY_CHECK_DELAY!r} < {{until}}"
    f" THEN messages.expires_at + {EXPIRY_CHECK_DELAY!r} ELSE {{until}} END,"
    " lease_until = NULL, held_reason = {reason}, attempts = messages.attempts - 1"
)
_HOLD = _raw.Sql(
    f"UPDATE messages SET {_HOLD_SET.format(until='?1', reason='?2')} WHERE transid = ?3",
    f"UPDATE messages SET {_HOLD_SET.format(until='$1', reason='$2')} WHERE transid = $3",
    f"UPDATE messages SET {_HOLD_SET.format(until='v.next_attempt_at', reason='v.held_reason')}"
    f" FROM {_raw.many_rows(messages, ('next_attempt_at', 'held_reason', 'transid'))}"
    " WHERE messages.transid = v.transid AND messages.transid = ANY($3)",
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


_HISTORY_COLUMNS = (
    "transid, status, occurred_at, recorded_at, source, error_code, error_title, error_details"
)
_HISTORY_TAIL = "ON CONFLICT (transid, status) DO NOTHING RETURNING transid, status"
# PostgreSQL only: SQLite's text is a multi-row VALUES (`_raw.sqlite_values`).
_INSERT_HISTORY_PG = _raw.Sql(
    "",
    f"INSERT INTO status_events ({_HISTORY_COLUMNS}) "
    "SELECT t, s, o, $4::float8, $5::varchar, c, ti, d FROM unnest("
    "$1::varchar[], $2::varchar[], $3::float8[], $6::int[], $7::text[], $8::text[]"
    f") AS u(t, s, o, c, ti, d) {_HISTORY_TAIL}",
)
_CURRENT = _raw.Sql(
    "SELECT transid, status FROM messages WHERE transid IN (SELECT value FROM json_each(?))"
    " ORDER BY transid",
    "SELECT transid, status FROM messages WHERE transid = ANY($1::varchar[])"
    " ORDER BY transid FOR UPDATE OF messages",
)


_IMPLIED_DELIVERED_TEXT = (
    "INSERT INTO status_events (transid, status, occurred_at, recorded_at, source)"
    f" VALUES ({{t}}, '{lifecycle.DELIVERED}', {{o}}, {{r}}, {{s}})"
    " ON CONFLICT (transid, status) DO UPDATE SET occurred_at = excluded.occurred_at"
)
_IMPLIED_DELIVERED = _raw.Sql(
    _IMPLIED_DELIVERED_TEXT.format(t="?1", o="?2", r="?3", s="?4"),
    _IMPLIED_DELIVERED_TEXT.format(t="$1", o="$2", r="$3", s="$4"),
)


async def _insert_history(
    conn: AsyncConnection, updates: Sequence[StatusUpdate], *, recorded_at: float, source: str
) -> set[tuple[str, str]]:
    """Insert the updates' history rows, duplicates ignored; the (transid, status) inserted."""
    errors = [u.error or (None, None, None) for u in updates]
    if _raw.kind(conn) == _raw.ASYNCPG:
        params = (
            [u.transid for u in updates],
            [u.status for u in updates],
            [u.at for u in updates],
            recorded_at,
            source,
            [e[0] for e in errors],
            [e[1] for e in errors],
            [e[2] for e in errors],
        )
        rows = await _raw.fetch(conn, _INSERT_HISTORY_PG, params)
        return {(row[0], row[1]) for row in rows}
    history = [
        (u.transid, u.status, u.at, recorded_at, source, *e)
        for u, e in zip(updates, errors, strict=True)
    ]
    new: set[tuple[str, str]] = set()
    head = f"INSERT INTO status_events ({_HISTORY_COLUMNS})"
    for chunk in _raw.padded_chunks(history):
        text = _raw.sqlite_values(head, 8, len(chunk), _HISTORY_TAIL)
        flat = [value for row in chunk for value in row]
        new.update((row[0], row[1]) for row in await _raw.fetch(conn, _raw.Sql(text, ""), flat))
    return new


async def record_statuses(
    conn: AsyncConnection,
    updates: Sequence[StatusUpdate],
    *,
    recorded_at: float,
    source: str,
    implied: list[int] | None = None,
) -> list[bool]:
    """`record_status` for many statuses in a few statements; one flag per update, in order.

    The history takes every row at once (duplicates ignored); the messages concerned are read
    (locked on PostgreSQL, in transid order so two writers never wait on each other in a
    cycle; on SQLite the history insert already holds the one write lock), the updates are
    applied to them in order as `record_status` would, one by one, and each message is then
    written once with where it ended up. (Raw statements: see `_raw`.)

    A `read` that moves a message never marked `delivered` implies it (WhatsApp may skip
    `delivered` when the message is read at once, and a `delivered` may come late): the
    history gets a `delivered` at the read's time, a late `delivered` then moves nothing, and
    the index of that `read` is appended to `implied` (for its caller to report the delivery
    first).
    """
    if not updates:
        return []
    new = await _insert_history(conn, updates, recorded_at=recorded_at, source=source)
    transids = sorted({u.transid for u in updates if (u.transid, u.status) in new})
    current: dict[str, str] = {}
    if transids:
        kind = _raw.kind(conn)
        param = transids if kind == _raw.ASYNCPG else _raw.json_list(transids)
        current = {row[0]: row[1] for row in await _raw.fetch(conn, _CURRENT, [param])}
    advanced: list[bool] = []
    written: dict[str, dict[str, Any]] = {}
    delivered: list[StatusUpdate] = []
    for index, update in enumerate(updates):
        key = (update.transid, update.status)
        status = current.get(update.transid)
        # A status recorded twice in one call counts once, like a duplicate across calls.
        moves = key in new and status is not None and lifecycle.advances(status, update.status)
        if moves:
            new.discard(key)
            if (
                update.status == lifecycle.READ
                and status is not None
                and lifecycle.advances(status, lifecycle.DELIVERED)
            ):
                delivered.append(
                    StatusUpdate(update.transid, lifecycle.DELIVERED, update.at, None, None)
                )
                if implied is not None:
                    implied.append(index)
            current[update.transid] = update.status
            written.setdefault(update.transid, {}).update(_advance_values(update))
        advanced.append(moves)
    if delivered:
        # A `delivered` later in these updates is in the history already: it takes the read's
        # time, as when it comes in a later call (and as the 7500 reports it).
        await _raw.execute_many(
            conn,
            _IMPLIED_DELIVERED,
            [(u.transid, u.at, recorded_at, source) for u in delivered],
        )
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for transid, values in written.items():
        columns = tuple(sorted(values))
        by_columns.setdefault(columns, []).append((*(values[c] for c in columns), transid))
    for columns, rows in by_columns.items():
        await _raw.execute_many(conn, _update_message(columns), rows)
    return advanced


def _update_message(columns: tuple[str, ...]) -> _raw.Sql:
    """UPDATE messages SET `columns` WHERE transid: parameters in that order."""
    return _raw.update_by_key(messages, columns, "transid")
