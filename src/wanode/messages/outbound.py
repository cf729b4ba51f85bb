"""Parsing outbound message JSON into message values, and rendering them to Cloud API payloads."""

from __future__ import annotations

from typing import Any

from wanode.messages.errors import InvalidMessage
from wanode.messages.text import Text

OutboundMessage = Text

_PARSERS = {"text": Text.from_json}


def parse_wa(wa: Any) -> OutboundMessage:
    """Parse a Messaging API `channels.OTT-Messaging.wa` object. Field paths are relative to it."""
    if not isinstance(wa, dict):
        raise InvalidMessage("", "must be an object")
    kind = wa.get("type")
    if kind is None:
        raise InvalidMessage("type", "is mandatory", code="7003")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise InvalidMessage("type", f"unsupported message type {kind!r}")
    if kind not in wa:
        raise InvalidMessage(kind, "is mandatory", code="7003")
    return parser(wa[kind])


def render_payload(message: OutboundMessage, to: str, **envelope: Any) -> dict[str, Any]:
    """The full Cloud API request body for sending `message` to `to`."""
    payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    payload["to"] = to
    payload.update(message.render())
    payload.update({k: v for k, v in envelope.items() if v is not None})
    return payload
