"""Use cases and long-running loops: dispatch, status processing, delivery reports, ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wanode.engine.gateways import Gateways
    from wanode.engine.service import Engine

__all__ = ["Engine", "Gateways"]


def __getattr__(name: str) -> Any:
    # Imported on first use: a CLI command that needs one use case (contacts import, pacing
    # status) must not load every loop, gateway and HTTP client.
    if name == "Engine":
        from wanode.engine.service import Engine

        return Engine
    if name == "Gateways":
        from wanode.engine.gateways import Gateways

        return Gateways
    raise AttributeError(name)
