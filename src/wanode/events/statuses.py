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


def parse_status(node: Node, phone_number_id: str) -> StatusUpdate:
    return StatusUpdate(
        phone_number_id=phone_number_id,
        wamid=node.string("id"),
        status=node.string("status"),
        timestamp=node.unix_time("timestamp"),
        recipient_id=node.string("recipient_id"),
        identity_key_hash=node.opt_string("recipient_identity_key_hash"),
        biz_opaque_callback_data=node.opt_string("biz_opaque_callback_data"),
        errors=parse_errors(node),
        raw=node.frozen(),
    )
