"""WhatsApp webhook payloads parsed into typed, frozen events. Pure: no I/O, no clock."""

from wanode.events.content import (
    ButtonReply,
    ListReply,
    Location,
    Media,
    Order,
    OrderItem,
    Reaction,
    SystemNotice,
)
from wanode.events.envelope import Event, OtherChange, ValueErrors, parse_webhook
from wanode.events.errors import WebhookError
from wanode.events.inbound import InboundMessage, MessageKind
from wanode.events.malformed import MalformedWebhook
from wanode.events.statuses import DELIVERED, FAILED, PLAYED, READ, SENT, StatusUpdate
from wanode.events.templates import TemplateStatusUpdate

__all__ = [
    "DELIVERED",
    "FAILED",
    "PLAYED",
    "READ",
    "SENT",
    "ButtonReply",
    "Event",
    "InboundMessage",
    "ListReply",
    "Location",
    "MalformedWebhook",
    "Media",
    "MessageKind",
    "Order",
    "OrderItem",
    "OtherChange",
    "Reaction",
    "StatusUpdate",
    "SystemNotice",
    "TemplateStatusUpdate",
    "ValueErrors",
    "WebhookError",
    "parse_webhook",
]
