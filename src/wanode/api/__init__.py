"""The HTTP API: Messaging API, native resources, webhook receiver, health and metrics."""

from wanode.api.app import create_app
from wanode.api.context import Context

__all__ = ["Context", "create_app"]
