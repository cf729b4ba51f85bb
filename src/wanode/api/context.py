"""What every request handler needs, built once per process and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from wanode.api._cache import TtlCache
from wanode.config import Settings
from wanode.engine import Engine
from wanode.engine.submit import Submitter
from wanode.store import Database

KEY_TTL = 10.0
APP_TTL = 2.0


@dataclass
class Context:
    settings: Settings
    db: Database
    engine: Engine
    sandbox: Any | None = None  # wanode.sandbox.Sandbox when it runs in-process
    # Every request checks its key and most read their app: both are cached for a moment.
    # Keys are cached only once found valid; an app is dropped here when this process changes
    # it (`forget_app`), and seen changed by other processes within the TTL.
    keys: TtlCache[bool] = field(default_factory=lambda: TtlCache(KEY_TTL))
    apps: TtlCache[dict[str, Any]] = field(default_factory=lambda: TtlCache(APP_TTL))
    # Every app, for checking webhook signatures; re-read whenever none of them signed one.
    all_apps: TtlCache[list[dict[str, Any]]] = field(default_factory=lambda: TtlCache(APP_TTL))
    # Writes the send requests' messages, many requests to a transaction.
    submitter: Submitter = field(init=False)

    def __post_init__(self) -> None:
        self.submitter = Submitter(self.db)

    def forget_app(self, app_id: str) -> None:
        self.apps.drop(app_id)
        self.all_apps.drop("")
        self.engine.dispatcher.forget_app(app_id)


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx
