"""Builders for what a handset sends to a business: `contacts[]` and `messages[]` items of an
inbound webhook (cloud-api.md §4.3, §4.4). One builder per message kind."""

from __future__ import annotations

from typing import Any

from wanode.sandbox.handsets import Handset


def contact(handset: Handset) -> dict[str, Any]:
    return {
        "profile": {"name": handset.name},
        "wa_id": handset.wa_id,
        "identity_key_hash": handset.identity_key_hash,
    }


def text_message(
    handset: Handset,
    wamid: str,
    *,
    now: int,
    body: str,
    reply_to: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A text message; `reply_to` is (business display number, wamid) for a quoted reply."""
    message: dict[str, Any] = {
        "from": handset.wa_id,
        "id": wamid,
        "timestamp": str(now),
        "type": "text",
        "text": {"body": body},
    }
    if reply_to is not None:
        message["context"] = {"from": reply_to[0], "id": reply_to[1]}
    return message
