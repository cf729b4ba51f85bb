"""What every request handler needs, built once per process and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from wanode.config import Settings
from wanode.engine import Engine
from wanode.store import Database


@dataclass
class Context:
    settings: Settings
    db: Database
    engine: Engine
    sandbox: Any | None = None  # wanode.sandbox.Sandbox when it runs in-process


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx
