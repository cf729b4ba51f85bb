"""Short-link redirects and the clicks they see.

A redirect must be fast, so nothing on its path writes: `resolve` answers from a per-process
cache of links (a link never changes once written, so an entry needs no expiry of its own
beyond the link's) or with one read by primary key, and `clicked` only appends the click to an
in-process queue. A writer task, started when the queue fills and gone when it is empty,
writes the queued clicks a batch to a transaction: each click's row, and for a tracked link
its Clicked DR (the notifier's outbox) and its `clicked` event (the forwarder's), then wakes
those loops.

A click still queued when the process dies is lost (the visitor was redirected all the same);
`drain` on shutdown writes what is queued.
"""

from __future__ import annotations

import asyncio
import contextvars
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.notify.clicks import DR_STATUS, EVENT, Click, click_event, click_report
from wanode.store import Database, deliveries, short_links, subscriptions

log = structlog.get_logger(__name__)

_CACHE_ENTRIES = 50_000
# Clicks waiting for the writer beyond this are dropped (logged): a flood of clicks must not
# grow the process without bound while the database is away.
_QUEUE_LIMIT = 100_000
_WRITE_ATTEMPTS = 3


def new_code() -> str:
    """A short link's code: 72 random bits, URL-safe (12 characters)."""
    return secrets.token_urlsafe(9)


def new_click_id() -> str:
    return "clk_" + secrets.token_hex(10)


class Clicks:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], float],
        wake: Callable[..., None],
    ) -> None:
        self._db = db
        self._clock = clock
        self._wake = wake
        self._links: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._pending: list[Click] = []
        self._writer: asyncio.Task[None] | None = None

    async def resolve(self, code: str) -> dict[str, Any] | None:
        """The live short link `code`, or None (unknown or expired)."""
        link = self._links.get(code)
        if link is None:
            async with self._db.begin() as conn:
                link = await short_links.get(conn, code)
            if link is None:
                return None
            self._links[code] = link
            if len(self._links) > _CACHE_ENTRIES:
                self._links.popitem(last=False)
        if link["expires_at"] <= self._clock():
            self._links.pop(code, None)
            return None
        return link

    def clicked(self, link: dict[str, Any]) -> None:
        """Queue a click on `link` (as `resolve` gave it); returns at once."""
        if len(self._pending) >= _QUEUE_LIMIT:
            log.warning("click_dropped", code=link["code"], reason="queue full")
            return
        click = Click(
            click_id=new_click_id(),
            code=link["code"],
            transid=link["transid"],
            tracked=bool(link["track"]),
            url=link["url"],
            short_url=link["short_url"],
            tag1=link["tag1"],
            tag2=link["tag2"],
            at=self._clock(),
        )
        self._pending.append(click)
        if self._writer is None:
            # A fresh context: the writer takes its own database turn (store/db.py).
            self._writer = asyncio.create_task(
                self._write(), name="wanode-click-writer", context=contextvars.Context()
            )

    async def drain(self) -> None:
        """Return once every click queued so far is written (or given up)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                loops = await self._write_batch(batch)
                if loops:
                    self._wake(*sorted(loops))
        finally:
            self._writer = None

    async def _write_batch(self, batch: list[Click]) -> set[str]:
        """Write `batch` in one transaction, tried a few times; the loops that now have work."""
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            try:
                async with self._db.begin() as conn:
                    return await self._record(conn, batch)
            except Exception:
                log.exception("click_write_failed", clicks=len(batch), attempt=attempt)
                if attempt < _WRITE_ATTEMPTS:
                    await asyncio.sleep(0.5 * attempt)
        return set()

    async def _record(self, conn: AsyncConnection, batch: list[Click]) -> set[str]:
        """Write the batch's clicks and queue the reports of tracked ones; returns the loops
        that now have work."""
        now = self._clock()
        await short_links.record_clicks(
            conn,
            [
                {
                    "click_id": c.click_id,
                    "code": c.code,
                    "transid": c.transid,
                    "clicked_at": c.at,
                    "recorded_at": now,
                }
                for c in batch
            ],
        )
        tracked = [c for c in batch if c.tracked]
        found = await short_links.messages_of(conn, [c.transid for c in tracked])
        reports = []
        loops: set[str] = set()
        for click in tracked:
            message = found.get(click.transid)
            if message is None:
                continue
            if message["notify_url"]:
                reports.append(
                    {
                        "transid": click.transid,
                        "status": DR_STATUS,
                        "url": message["notify_url"],
                        "body": click_report(click, message),
                        # Signed and authenticated as the message's other DRs are.
                        "app_id": message["app_id"],
                        "auth_id": message["notify_auth_id"],
                    }
                )
            if await subscriptions.enqueue_event(
                conn,
                app_id=message["app_id"],
                wa_id=message["wa_id"],
                wamid=click.click_id,
                event_name=EVENT,
                body=click_event(click, message),
                at=now,
            ):
                loops.add("forward")
        if reports:
            await deliveries.enqueue_many(conn, reports, at=now)
            loops.add("notify")
        return loops
