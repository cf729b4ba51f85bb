"""Ingesting verified WhatsApp webhooks: statuses to the inbox, inbound messages to the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.events import Event, InboundMessage, StatusUpdate
from wanode.store import contacts as contact_queries
from wanode.store import statuses as inbox

log = structlog.get_logger(__name__)


async def ingest(
    conn: AsyncConnection, events: Iterable[Event], *, apps: dict[str, dict[str, Any]], now: float
) -> int:
    """Store every event addressed to one of `apps` (keyed by phone_number_id); returns the count.

    Duplicates (WhatsApp retries webhooks) are ignored by the stores' unique keys.
    """
    stored = 0
    for event in events:
        if isinstance(event, StatusUpdate) and event.phone_number_id in apps:
            first = event.errors[0] if event.errors else None
            await inbox.store(
                conn,
                {
                    "phone_number_id": event.phone_number_id,
                    "wamid": event.wamid,
                    "status": event.status,
                    "occurred_at": event.timestamp.timestamp(),
                    "recipient_id": event.recipient_id,
                    "identity_key_hash": event.identity_key_hash,
                    "error_code": first.code if first else None,
                    "error_title": first.title if first else None,
                    "error_details": (first.details or first.message) if first else None,
                    "received_at": now,
                },
            )
            stored += 1
        elif isinstance(event, InboundMessage) and event.phone_number_id in apps:
            occurred = event.timestamp.timestamp()
            await contact_queries.store_inbound(
                conn,
                {
                    "wamid": event.wamid,
                    "app_id": apps[event.phone_number_id]["id"],
                    "wa_id": event.from_wa_id,
                    "kind": event.kind,
                    "occurred_at": occurred,
                    "payload": dict(event.raw),
                    "received_at": now,
                },
            )
            await contact_queries.observe(
                conn,
                event.from_wa_id,
                at=now,
                profile_name=event.profile_name,
                identity_key_hash=event.identity_key_hash,
                inbound_at=occurred,
            )
            stored += 1
        else:
            log.info("webhook_event_ignored", event=type(event).__name__)
    return stored
