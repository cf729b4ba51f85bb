"""Reading the message log for people (the console): filtered pages in keyset order, counts by
status and by failure code, and a per-minute series of status changes.

Pages are keyset-paginated on (created_at, transid), newest first, both ways: a page costs the
same at row 100,000 as at row 1, where an OFFSET would read every row before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store.tables import messages, status_events

# The columns a list row shows (not the payload: a page of 50 stays small).
_LIST_COLUMNS = (
    "transid",
    "app_id",
    "wa_id",
    "destination",
    "kind",
    "status",
    "status_at",
    "correlationid",
    "error_code",
    "error_title",
    "created_at",
)

CHART_STATUSES = ("sent", "delivered", "read", "failed")


@dataclass(frozen=True)
class MessageFilter:
    """What a page of the log is narrowed to; None everywhere is every message.
    `app_ids` None is every app (an admin key); an app key's is its own app only."""

    app_ids: Sequence[str] | None = None
    status: str | None = None
    destination: str | None = None
    correlationid: str | None = None
    transid: str | None = None
    error_code: int | None = None
    since: float | None = None  # created_at >= since
    until: float | None = None  # created_at < until


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: the next page starts strictly after (older than) it."""

    created_at: float
    transid: str

    def encode(self) -> str:
        return f"{self.created_at!r}~{self.transid}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        at, sep, transid = text.partition("~")
        if not sep or not transid:
            return None
        try:
            return cls(float(at), transid)
        except ValueError:
            return None


def _where(flt: MessageFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if flt.app_ids is not None:
        where.append(messages.c.app_id.in_(list(flt.app_ids)))
    if flt.status is not None:
        where.append(messages.c.status == flt.status)
    if flt.destination is not None:
        # A number is matched on its wa_id (digits only), however it was written in the
        # request; anything else (a customer id) as the request gave it.
        digits = flt.destination.removeprefix("+")
        if digits.isdigit():
            where.append(messages.c.wa_id == digits)
        else:
            where.append(messages.c.destination == flt.destination)
    if flt.correlationid is not None:
        where.append(messages.c.correlationid == flt.correlationid)
    if flt.transid is not None:
        where.append(messages.c.transid == flt.transid)
    if flt.error_code is not None:
        where.append(messages.c.error_code == flt.error_code)
    if flt.since is not None:
        where.append(messages.c.created_at >= flt.since)
    if flt.until is not None:
        where.append(messages.c.created_at < flt.until)
    return where


@dataclass(frozen=True)
class Page:
    """A page of the log, newest first; `older` and `newer` are the cursors of the pages on
    either side (None: there is none)."""

    rows: list[dict[str, Any]]
    older: Cursor | None
    newer: Cursor | None


def _key(row: dict[str, Any]) -> Cursor:
    return Cursor(row["created_at"], row["transid"])


async def page(
    conn: AsyncConnection,
    flt: MessageFilter,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int,
) -> Page:
    """Up to `limit` messages matching `flt`, newest first: those just older than `after`, or
    just newer than `before`, or the newest."""
    where = _where(flt)
    key = sa.tuple_(messages.c.created_at, messages.c.transid)
    # Row-value comparisons: one range over an index on (created_at, transid).
    if after is not None:
        where.append(key < sa.tuple_(sa.literal(after.created_at), sa.literal(after.transid)))
    elif before is not None:
        where.append(key > sa.tuple_(sa.literal(before.created_at), sa.literal(before.transid)))
    newest_first = before is None or after is not None
    order = (
        (messages.c.created_at.desc(), messages.c.transid.desc())
        if newest_first
        else (messages.c.created_at, messages.c.transid)
    )
    query = (
        sa.select(*(messages.c[name] for name in _LIST_COLUMNS))
        .where(*where)
        .order_by(*order)
        .limit(limit + 1)
    )
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    if not newest_first:
        rows.reverse()
    if not rows:
        return Page(rows, None, None)
    if newest_first:
        older = _key(rows[-1]) if more else None
        newer = _key(rows[0]) if after is not None else None
    else:
        older = _key(rows[-1])
        newer = _key(rows[0]) if more else None
    return Page(rows, older, newer)


async def counts_by_status(
    conn: AsyncConnection, app_ids: Sequence[str] | None
) -> dict[str, dict[str, int]]:
    """{app_id: {status: count}}."""
    query = sa.select(messages.c.app_id, messages.c.status, sa.func.count()).group_by(
        messages.c.app_id, messages.c.status
    )
    if app_ids is not None:
        query = query.where(messages.c.app_id.in_(list(app_ids)))
    counts: dict[str, dict[str, int]] = {}
    for app_id, status, n in await conn.execute(query):
        counts.setdefault(app_id, {})[status] = int(n)
    return counts


async def failures_by_code(
    conn: AsyncConnection, app_ids: Sequence[str] | None
) -> dict[str, list[tuple[int | None, str, int]]]:
    """{app_id: [(error_code, a title seen with it, count)]}, most frequent first."""
    query = (
        sa.select(
            messages.c.app_id,
            messages.c.error_code,
            sa.func.max(messages.c.error_title),
            sa.func.count(),
        )
        .where(messages.c.status == "failed")
        .group_by(messages.c.app_id, messages.c.error_code)
        .order_by(sa.func.count().desc())
    )
    if app_ids is not None:
        query = query.where(messages.c.app_id.in_(list(app_ids)))
    failures: dict[str, list[tuple[int | None, str, int]]] = {}
    for app_id, code, title, n in await conn.execute(query):
        failures.setdefault(app_id, []).append((code, title or "", int(n)))
    return failures


async def per_minute(
    conn: AsyncConnection, app_ids: Sequence[str] | None, *, since: float, until: float
) -> dict[str, dict[int, int]]:
    """{status: {minute: count}} of the sent / delivered / read / failed status changes that
    occurred in [since, until), a minute being `int(occurred_at // 60)`."""
    minutes = status_events.c.occurred_at / 60
    # SQLite's CAST truncates (the floor, for times after 1970) and may lack floor();
    # PostgreSQL's CAST rounds.
    floor = minutes if conn.dialect.name == "sqlite" else sa.func.floor(minutes)
    minute = sa.cast(floor, sa.BigInteger)
    query = (
        sa.select(status_events.c.status, minute, sa.func.count())
        .where(
            status_events.c.occurred_at >= since,
            status_events.c.occurred_at < until,
            status_events.c.status.in_(CHART_STATUSES),
        )
        .group_by(status_events.c.status, minute)
    )
    if app_ids is not None:
        query = query.join_from(
            status_events, messages, messages.c.transid == status_events.c.transid
        ).where(messages.c.app_id.in_(list(app_ids)))
    series: dict[str, dict[int, int]] = {status: {} for status in CHART_STATUSES}
    for status, at, n in await conn.execute(query):
        series[status][int(at)] = int(n)
    return series
