"""Ingesting verified WhatsApp webhooks: statuses to the inbox, inbound messages to the store
and, as events, to the subscribers' outbox, template status updates to the template registry.

`ingest` stores one webhook's events in the caller's transaction. `Ingester` is what the
receiver uses: a webhook of statuses alone (nearly every webhook a campaign brings) is written
with group commit, together with the statuses of the webhooks that arrive while a transaction
is being written; any other webhook in a transaction of its own, through `ingest`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.engine.group_commit import GroupCommit
from wanode.engine.templates import apply_status
from wanode.events import Event, InboundMessage, StatusUpdate, TemplateStatusUpdate
from wanode.notify.events import inbound_event
from wanode.notify.media_links import MediaLinks, media_path
from wanode.policy import is_bsuid
from wanode.store import Database, subscriptions
from wanode.store import bsuids as bsuid_queries
from wanode.store import contacts as contact_queries
from wanode.store import flows as flow_store
from wanode.store import media as media_queries
from wanode.store import statuses as inbox

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Ingested:
    """What a webhook left: how many of its events were stored, and the engine loops that now
    have work (wake those only: a webhook is mostly one status, for the status loop alone)."""

    stored: int
    loops: frozenset[str]


_STATUS_LOOP = frozenset({"status"})
_NO_LOOP: frozenset[str] = frozenset()


class Ingester:
    """`ingest` for the receiver, with group commit for webhooks of statuses alone.

    Under a campaign many status webhooks arrive at once, and at low rates each carries one
    status: a transaction per webhook was about half of the receiver's CPU. Here the statuses
    of the webhooks that arrive while a transaction is being written go in the next one, and
    each webhook's `ingest` returns once its own statuses are committed (so nothing is
    acknowledged to WhatsApp before it is durable; a failed write raises, for the receiver to
    answer 500 and WhatsApp to retry). Duplicates are ignored as `ingest` ignores them, and
    statuses keep their arrival order within the inbox's (occurred_at, id) order. On SQLite a
    webhook that finds none other being written is written at once, in its own task.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._statuses: GroupCommit[list[dict[str, Any]]] = GroupCommit(
            db, _store_statuses, name="wanode-webhook-writer"
        )
        # Status webhooks being written now, at once or in a group.
        self._writing = 0
        # On SQLite a transaction runs without suspending (but to take its turn), so a webhook
        # written at once keeps no other from the group for long. On PostgreSQL it waits on
        # round trips, while the webhooks arriving meanwhile would share a transaction of
        # their own: twice the transactions (measured in-process: 2.4 times the CPU at 16
        # concurrent webhooks).
        self._at_once_when_alone = db.is_sqlite

    async def ingest(
        self,
        events: Sequence[Event],
        *,
        apps: dict[str, dict[str, Any]],
        now: float,
        media_links: MediaLinks | None = None,
    ) -> Ingested:
        """What `ingest` stores and returns, committed when this returns."""
        rows = status_rows(events, apps=apps, now=now)
        if rows is None:
            async with self._db.begin() as conn:
                return await ingest(conn, events, apps=apps, now=now, media_links=media_links)
        if not rows:
            return Ingested(0, _NO_LOOP)
        self._writing += 1
        try:
            if self._writing == 1 and self._at_once_when_alone:
                # Alone: written at once, in this task, and the status loop woken right after
                # the commit. Through the writer task, a few turns of the loop (some 0.03 ms
                # of CPU) pass between the two, in which the status loop (woken by a send, or
                # waiting for its turn behind the write) may claim the status: the wake-up then
                # brings a pass that finds nothing. In the lifecycle bench (webhooks one at a
                # time) that was twice the status passes, a transaction each.
                async with self._db.begin() as conn:
                    await inbox.store_many(conn, rows, last=True)
            else:
                # Others' statuses are being written: these go in the group's next transaction.
                # A request cancelled while waiting leaves them to be written all the same.
                await self._statuses.add(rows)
        finally:
            self._writing -= 1
        return Ingested(len(rows), _STATUS_LOOP)


def status_rows(
    events: Sequence[Event], *, apps: dict[str, dict[str, Any]], now: float
) -> list[dict[str, Any]] | None:
    """The inbox rows of a webhook of statuses alone (those addressed to one of `apps`, as
    `ingest` keeps them); None when the webhook holds anything else."""
    rows: list[dict[str, Any]] = []
    ignored = 0
    for event in events:
        if not isinstance(event, StatusUpdate):
            return None
        if event.phone_number_id in apps:
            rows.append(_status_row(event, now))
        else:
            ignored += 1
    for _ in range(ignored):
        log.info("webhook_event_ignored", kind=StatusUpdate.__name__)
    return rows


async def _store_statuses(conn: AsyncConnection, webhooks: list[list[dict[str, Any]]]) -> None:
    """Several webhooks' statuses, written as one webhook's, in the order the webhooks
    arrived."""
    await inbox.store_many(conn, [row for rows in webhooks for row in rows], last=True)


async def ingest(
    conn: AsyncConnection,
    events: Iterable[Event],
    *,
    apps: dict[str, dict[str, Any]],
    now: float,
    media_links: MediaLinks | None = None,
) -> Ingested:
    """Store every event addressed to one of `apps` (keyed by phone_number_id).

    `media_links` makes the events' attachment URLs absolute and signed (else they are paths
    that need the API key).

    Duplicates (WhatsApp retries webhooks) are ignored by the stores' unique keys. A new
    inbound message is queued for its subscribers in the caller's transaction, so it is
    forwarded if and only if it is stored, and once.
    """
    stored = 0
    loops: set[str] = set()
    statuses: list[dict[str, Any]] = []
    links: list[bsuid_queries.Link] = []
    for event in events:
        if isinstance(event, StatusUpdate) and event.phone_number_id in apps:
            statuses.append(_status_row(event, now))
            stored += 1
        elif isinstance(event, InboundMessage) and event.phone_number_id in apps:
            occurred = event.timestamp.timestamp()
            app_id = apps[event.phone_number_id]["id"]
            if not event.from_wa_id:
                event = await _numbered(conn, event, app_id=app_id)
            new = await contact_queries.store_inbound(
                conn,
                {
                    "wamid": event.wamid,
                    "app_id": app_id,
                    "wa_id": event.from_wa_id,
                    "kind": event.kind,
                    "occurred_at": occurred,
                    "payload": dict(event.raw),
                    "received_at": now,
                },
            )
            # A sender whose number is withheld and whose BSUID names no contact yet is kept
            # (stored, forwarded with its `bsuid`) but has no contact to observe or link.
            if event.from_wa_id:
                await contact_queries.observe(
                    conn,
                    event.from_wa_id,
                    at=now,
                    profile_name=event.profile_name,
                    identity_key_hash=event.identity_key_hash,
                    inbound_at=occurred,
                )
            if event.from_wa_id and is_bsuid(event.bsuid):
                links.append(bsuid_queries.Link(app_id, event.from_wa_id, event.bsuid))
            # Downloaded later by the media fetcher; served at /v1/media/{id}. A repeated
            # webhook records nothing new and gives the fetcher nothing to do.
            if event.media is not None and await media_queries.record(
                conn,
                media_id=event.media.id,
                wamid=event.wamid,
                app_id=app_id,
                mime_type=event.media.mime_type,
                sha256=event.media.sha256,
                at=now,
            ):
                loops.add("media")
            if new:
                media_url = media_path
                if media_links is not None:
                    secret = apps[event.phone_number_id]["app_secret"]
                    media_url = functools.partial(media_links.url, secret=secret, sent_at=occurred)
                loops.update(
                    await _forward(conn, event, app_id=app_id, now=now, media_url=media_url)
                )
            stored += 1
        elif isinstance(event, TemplateStatusUpdate) and (owner := _waba_app(apps, event)):
            if await apply_status(conn, event, app=owner, now=now):
                # The template loop fetches the definition of a template first heard of here.
                loops.add("templates")
                stored += 1
        else:
            log.info("webhook_event_ignored", kind=type(event).__name__)
    if statuses:
        # One statement for all of the webhook's statuses (Meta batches up to 1,000 in a POST).
        await inbox.store_many(conn, statuses)
        loops.add("status")
    # The status processor links its statuses' BSUIDs; an inbound message's are linked here,
    # before a reply to it can be addressed by one.
    await bsuid_queries.link(conn, links, at=now)
    return Ingested(stored, frozenset(loops))


async def _numbered(conn: AsyncConnection, event: InboundMessage, *, app_id: str) -> InboundMessage:
    """A message whose sender's number WhatsApp withheld, given the number of the contact the
    app knows by its BSUID, if there is one (as-is otherwise)."""
    if not is_bsuid(event.bsuid):
        return event
    found = await bsuid_queries.numbers_of(conn, [event.bsuid], app_id=app_id)
    wa_id = found.get(event.bsuid)
    return replace(event, from_wa_id=wa_id) if wa_id else event


def _status_row(event: StatusUpdate, now: float) -> dict[str, Any]:
    first = event.errors[0] if event.errors else None
    return {
        "phone_number_id": event.phone_number_id,
        "wamid": event.wamid,
        "status": event.status,
        "occurred_at": event.timestamp.timestamp(),
        "recipient_id": event.recipient_id or None,
        "identity_key_hash": event.identity_key_hash,
        "recipient_user_id": event.bsuid if is_bsuid(event.bsuid) else None,
        "error_code": first.code if first else None,
        "error_title": first.title if first else None,
        "error_details": (first.details or first.message) if first else None,
        "received_at": now,
    }


def _waba_app(
    apps: dict[str, dict[str, Any]], event: TemplateStatusUpdate
) -> dict[str, Any] | None:
    """One of `apps` in the WABA a template status update is about (its entry's id)."""
    return next((app for app in apps.values() if app["waba_id"] == event.waba_id), None)


async def _forward(
    conn: AsyncConnection,
    message: InboundMessage,
    *,
    app_id: str,
    now: float,
    media_url: Callable[[str], str],
) -> set[str]:
    """To the flow inbox (Receive nodes and Start triggers), and to the subscribers' outbox if
    any subscriber wants it; returns the loops that now have work."""
    body = inbound_event(message, app_id=app_id, media_url=media_url)
    loops: set[str] = set()
    # Flow runs are per number: a sender known by BSUID alone goes to the subscribers only.
    if message.from_wa_id:
        await flow_store.add_event(
            conn, app_id=app_id, wa_id=message.from_wa_id, wamid=message.wamid, event=body, now=now
        )
        loops.add("flows")
    queued = await subscriptions.enqueue_event(
        conn,
        app_id=app_id,
        wa_id=message.from_wa_id,
        wamid=message.wamid,
        event_name=body["event"],
        body=body,
        at=now,
    )
    if queued:
        loops.add("forward")
    return loops
