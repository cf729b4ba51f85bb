"""Gateways to WhatsApp: the Cloud API, the built-in sandbox, and an in-memory fake."""

from wanode.gateway.base import (
    Accepted,
    Credentials,
    Gateway,
    GatewayError,
    MediaRejected,
    MediaTooLarge,
    Rejected,
    RequestRejected,
    SendResult,
    TemplateRejected,
)
from wanode.gateway.cloud import CloudGateway
from wanode.gateway.memory import MemoryGateway

__all__ = [
    "Accepted",
    "CloudGateway",
    "Credentials",
    "Gateway",
    "GatewayError",
    "MediaRejected",
    "MediaTooLarge",
    "MemoryGateway",
    "Rejected",
    "RequestRejected",
    "SendResult",
    "TemplateRejected",
]
