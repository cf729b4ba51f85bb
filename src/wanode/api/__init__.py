"""The HTTP API: Messaging API, native resources, webhook receiver, health and metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wanode.api.app import create_app
    from wanode.api.context import Context

__all__ = ["Context", "create_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use, not with the package: `wanode.api.shapes` and the CLI commands
    # that use it must not pay for the whole application (the engine, the sandbox, every route).
    if name == "create_app":
        from wanode.api.app import create_app

        return create_app
    if name == "Context":
        from wanode.api.context import Context

        return Context
    raise AttributeError(name)
