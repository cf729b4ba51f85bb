"""Named queries: the outbox of delivery reports to notify URLs."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _outbox, _raw
from wanode.store._outbox import PENDING, claim_in_order
from wanode.store.db import announce
from wanode.store.tables import dr_deliveries, messages

# What `finish_many` takes: one report that is done; what `retry_many` takes: one to retry.
Finished = _outbox.Finished
Retry = _outbox.Retry

DELIVERED = "delivered"
GIVEN_UP = "given_up"
# What `Database.listen` hears once DRs are queued: their notify URLs (the notifier's hint).
QUEUED = "dr_queued"


async def enqueue(
    conn: AsyncConnection,
    *,
    transid: str,
    status: str,
    url: str,
    body: dict[str, Any],
    at: float,
    app_id: str | None = None,
    auth_id: str | None = None,
) -> None:
    await conn.execute(
        dr_deliveries.insert().values(
            transid=transid,
            status=status,
            url=url,
            body=body,
            app_id=app_id,
            auth_id=auth_id,
            state=PENDING,
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
    )
    announce(conn, QUEUED, (url,))


_DR_INSERTED = (
    "transid", "status", "url", "body", "app_id", "auth_id", "state", "attempts",
    "next_attempt_at", "created_at",
)  # fmt: skip
_DR_COLUMNS = ", ".join(_DR_INSERTED)
# Parameters: every inserted column's value but `attempts` (0).
_DR_PARAMS = tuple(name for name in _DR_INSERTED if name != "attempts")
_ENQUEUE = _raw.Sql(
    f"INSERT INTO dr_deliveries ({_DR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
    f"INSERT INTO dr_deliveries ({_DR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)",
    _raw.many_insert(
        dr_deliveries,
        _DR_INSERTED,
        [_raw.many_value(dr_deliveries, n) if n != "attempts" else "0" for n in _DR_INSERTED],
        _DR_PARAMS,
    ),
)


async def enqueue_many(conn: AsyncConnection, reports: list[dict[str, Any]], *, at: float) -> None:
    """`enqueue` for many reports (each with transid, status, url and body, and optionally
    app_id and auth_id) in one statement."""
    if reports:
        dump = _raw.dump_json
        rows = [
            (
                r["transid"],
                r["status"],
                r["url"],
                dump(r["body"]),
                r.get("app_id"),
                r.get("auth_id"),
                PENDING,
                at,
                at,
            )
            for r in reports
        ]
        await _raw.execute_many(conn, _ENQUEUE, rows)
        announce(conn, QUEUED, {r["url"] for r in reports})


async def claim(
    conn: AsyncConnection,
    *,
    at: float,
    lease_seconds: float,
    limit: int,
    skip_urls: Sequence[str] = (),
    last: bool = False,
) -> list[dict[str, Any]]:
    """Lease due DRs, in `id` order: the oldest pending DR of up to `limit` messages (their
    heads), and with each head the message's later pending DRs, to be posted one after the
    other, so DRs that queued up behind one on its way go in one pass, still in order.

    Only heads are ever claimed by a worker, and a head stays pending (leased) until its
    attempt is recorded, so no two workers hold DRs of one message. DRs to `skip_urls` (notify
    URLs with as many deliveries in flight as they may have) are left for a later pass.
    On PostgreSQL, in one statement. `last`: nothing follows in the transaction (see `_raw`).
    """
    table = dr_deliveries
    if _raw.kind(conn) == _raw.ASYNCPG:
        # One statement: the heads, and the followers of what it claimed.
        exclude = ("url", skip_urls) if skip_urls else None
        claim = _outbox.claim_params(
            conn, at=at, lease_seconds=lease_seconds, limit=limit, exclude=exclude
        )
        rows = await _raw.fetch(conn, _with_followers(bool(skip_urls)), claim, last=last)
        claimed = _raw.decode_rows(conn, table, _DR_NAMES, rows)
        return sorted(claimed, key=lambda r: r["id"])
    heads = await claim_in_order(
        conn,
        table,
        thread=("transid",),
        at=at,
        lease_seconds=lease_seconds,
        limit=limit,
        exclude=("url", skip_urls),
    )
    if not heads:
        return heads
    names = _DR_NAMES
    transids = [head["transid"] for head in heads]
    ids = [head["id"] for head in heads]
    params = [at + lease_seconds, at, _raw.json_list(transids), _raw.json_list(ids)]
    followers = _raw.decode_rows(conn, table, names, await _raw.fetch(conn, _FOLLOWERS, params))
    return sorted([*heads, *followers], key=lambda r: r["id"])


_DR_NAMES = tuple(c.name for c in dr_deliveries.c)
_FOLLOWERS_TEXT = (
    "UPDATE dr_deliveries SET lease_until = {until}, attempts = dr_deliveries.attempts + 1"
    # `+state`, `state || ''`: the rows are found by transid, not among every pending DR (which
    # PostgreSQL's planner chose while its statistics held few pending DRs: 350,000 rows
    # compared for 400 DRs, 74 ms).
    " WHERE {transid_in} AND {state} = 'pending'"
    " AND dr_deliveries.id NOT IN ({ids})"
    " AND (dr_deliveries.lease_until IS NULL OR dr_deliveries.lease_until < {now})"
    f" RETURNING {', '.join(_DR_NAMES)}"
)
# SQLite: the later pending DRs of the messages whose heads were claimed; parameters: the
# lease's end, now, the heads' transids and their ids. (PostgreSQL: `_with_followers`.)
_FOLLOWERS = _raw.Sql(
    _FOLLOWERS_TEXT.format(
        until="?1",
        now="?2",
        transid_in="dr_deliveries.transid IN (SELECT value FROM json_each(?3))",
        ids="SELECT value FROM json_each(?4)",
        state="+dr_deliveries.state",
    ),
    "",
)


@cache
def _with_followers(excluding: bool) -> _raw.Sql:
    """PostgreSQL: `claim`'s two statements as one (the heads, and the followers of the heads
    it claimed: other rows, so neither update meets the other's). Parameters as the heads'
    claim takes them (`_outbox.claim_params`)."""
    heads, _names = _outbox.claim_sql(dr_deliveries, ("transid",), "url" if excluding else None)
    followers = _FOLLOWERS_TEXT.format(
        until="$1",
        now="$2",
        transid_in="dr_deliveries.transid = ANY(ARRAY(SELECT transid FROM heads))",
        ids="SELECT id FROM heads",
        state="dr_deliveries.state || ''",
    )
    return _raw.Sql(
        "",
        f"WITH heads AS ({heads.postgresql}), followers AS ({followers})"
        " SELECT * FROM heads UNION ALL SELECT * FROM followers",
    )


# Ending a lease: delivered or given up (`finish_many`), to be tried again (`retry_many`), or
# not tried after all (`release_unattempted`).
finish_many = partial(_outbox.finish_many, table=dr_deliveries)
retry_many = partial(_outbox.retry_many, table=dr_deliveries)
release_unattempted = partial(_outbox.release_unattempted, table=dr_deliveries)


async def given_up(
    conn: AsyncConnection,
    *,
    app_id: str | None = None,
    before_id: int | None = None,
    limit: int,
    state: str = GIVEN_UP,
) -> list[dict[str, Any]]:
    """DRs given up after their last retry (the dead letters; or in another final `state`,
    such as parked), newest first, with the app whose message each reports on; `before_id`
    pages on."""
    query = (
        # The message's app (a DR queued before migration 0010 has none of its own).
        sa.select(*(c for c in dr_deliveries.c if c.name != "app_id"), messages.c.app_id)
        .join(messages, messages.c.transid == dr_deliveries.c.transid)
        .where(dr_deliveries.c.state == state)
        .order_by(dr_deliveries.c.id.desc())
        .limit(limit)
    )
    if app_id is not None:
        query = query.where(messages.c.app_id == app_id)
    if before_id is not None:
        query = query.where(dr_deliveries.c.id < before_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def replay(
    conn: AsyncConnection, *, ids: Sequence[int] | None, app_id: str | None = None, at: float
) -> int:
    """Queue given-up DRs again (`ids`, or every one when None; of one app's messages only,
    with `app_id`): each gets the reference's retries anew. Returns how many were queued."""
    query = dr_deliveries.update().where(dr_deliveries.c.state == GIVEN_UP)
    if ids is not None:
        query = query.where(dr_deliveries.c.id.in_(list(ids)))
    if app_id is not None:
        query = query.where(
            dr_deliveries.c.transid.in_(
                sa.select(messages.c.transid).where(messages.c.app_id == app_id)
            )
        )
    result = await conn.execute(
        query.values(
            state=PENDING,
            attempts=0,
            next_attempt_at=at,
            lease_until=None,
            finished_at=None,
        ).returning(dr_deliveries.c.url)
    )
    urls = list(result.scalars())
    announce(conn, QUEUED, urls)
    return len(urls)
