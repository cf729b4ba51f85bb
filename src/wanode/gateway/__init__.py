"""Gateways to WhatsApp: the Cloud API, the built-in sandbox, and an in-memory fake."""

from wanode.gateway.base import (
    Accepted,
    Credentials,
    Gateway,
    GatewayError,
    Rejected,
    SendResult,
)
from wanode.gateway.cloud import CloudGateway
from wanode.gateway.memory import MemoryGateway

__all__ = [
    "Accepted",
    "CloudGateway",
    "Credentials",
    "Gateway",
    "GatewayError",
    "MemoryGateway",
    "Rejected",
    "SendResult",
]
