"""Use cases and long-running loops: dispatch, status processing, delivery reports, ingest."""

from wanode.engine.gateways import Gateways
from wanode.engine.service import Engine

__all__ = ["Engine", "Gateways"]
