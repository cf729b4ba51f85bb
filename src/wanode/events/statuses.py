"""Status updates: the lifecycle of a message the business sent (cloud-api.md §4.5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wanode.events._node import Node
from wanode.events.errors import WebhookError, parse_errors

SENT = "sent"
DELIVERED = "delivered"
READ = "read"
FAILED = "failed"
PLAYED = "played"


@dataclass(frozen=True)
class StatusUpdate:
    """One `statuses[]` entry.

    `status` is one of the constants above, or whatever new string Meta sends, kept as-is so
    that the status processor decides what an unknown status means, not the parser.

    `bsuid` is the recipient's business-scoped user id: the status's `recipient_user_id`, or
    the `user_id` of the value's `contacts` entry for the recipient (pywa reads it there).
    `recipient_id` is empty when WhatsApp withholds the recipient's number and names them by
    `recipient_user_id` alone.
    """

    phone_number_id: str
    wamid: str
    status: str
    timestamp: datetime
    recipient_id: str
    identity_key_hash: str | None
    biz_opaque_callback_data: str | None
    errors: tuple[WebhookError, ...]
    raw: Mapping[str, Any] = field(compare=False, repr=False)
    bsuid: str | None = None


def parse_status(
    node: Node, phone_number_id: str, bsuids: Mapping[str | None, str | None] | None = None
) -> StatusUpdate:
    """`bsuids` maps the value's `contacts` (wa_id to user_id); a single contact is the
    recipient of every status beside it."""
    recipient_id = node.opt_string("recipient_id") or ""
    own = node.data.get("recipient_user_id")
    bsuid = own if isinstance(own, str) and own else None
    if bsuid is None and bsuids:
        only = next(iter(bsuids.values())) if len(bsuids) == 1 else None
        bsuid = bsuids.get(recipient_id, only)
    return StatusUpdate(
        phone_number_id=phone_number_id,
        wamid=node.string("id"),
        status=node.string("status"),
        timestamp=node.unix_time("timestamp"),
        recipient_id=recipient_id,
        identity_key_hash=node.opt_string("recipient_identity_key_hash"),
        biz_opaque_callback_data=node.opt_string("biz_opaque_callback_data"),
        errors=parse_errors(node),
        raw=node.frozen(),
        bsuid=bsuid,
    )
