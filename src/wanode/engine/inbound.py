"""Ingesting verified WhatsApp webhooks: statuses to the inbox, inbound messages to the store
and, as events, to the subscribers' outbox, template status updates to the template registry."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.engine.templates import apply_status
from wanode.events import Event, InboundMessage, StatusUpdate, TemplateStatusUpdate
from wanode.notify.events import inbound_event
from wanode.notify.media_links import MediaLinks, media_path
from wanode.policy import is_bsuid
from wanode.store import bsuids as bsuid_queries
from wanode.store import contacts as contact_queries
from wanode.store import flows as flow_store
from wanode.store import media as media_queries
from wanode.store import statuses as inbox
from wanode.store import subscriptions

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Ingested:
    """What a webhook left: how many of its events were stored, and the engine loops that now
    have work (wake those only: a webhook is mostly one status, for the status loop alone)."""

    stored: int
    loops: frozenset[str]


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
