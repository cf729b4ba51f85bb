"""Payloads that are not messages: marking an inbound message read, and the typing indicator."""

from __future__ import annotations

from typing import Any

from wanode.messages._fields import text


def mark_read(message_id: str) -> dict[str, Any]:
    """The Cloud API body that marks inbound `message_id` (and all earlier ones) as read."""
    text("message_id", message_id)
    return {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}


def typing_indicator(message_id: str) -> dict[str, Any]:
    """Show "typing…" in reply to `message_id`; Meta only offers it together with mark-as-read."""
    return {**mark_read(message_id), "typing_indicator": {"type": "text"}}
