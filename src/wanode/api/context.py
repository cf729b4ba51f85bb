"""What every request handler needs, built once per process and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from wanode.api._cache import TtlCache
from wanode.config import Settings
from wanode.engine import Engine
from wanode.engine.inbound import Ingester
from wanode.engine.submit import Submitter
from wanode.store import Database

# A key revoked by another process is refused here within KEY_TTL; by this one, at once.
KEY_TTL = 5.0
APP_TTL = 2.0
URL_TTL = 60.0


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: its API key, and the app that key acts on (None: an admin key,
    acting on every app)."""

    key_id: str
    app_id: str | None
    admin: bool

    def may_act_on(self, app_id: str | None) -> bool:
        """Whether this key may act on a resource of `app_id` (None: one of no app, which
        only admin keys see)."""
        return self.admin or (app_id is not None and app_id == self.app_id)


@dataclass
class Context:
    settings: Settings
    db: Database
    engine: Engine
    sandbox: Any | None = None  # wanode.sandbox.Sandbox when it runs in-process
    # Every request checks its key and most read their app: both are cached for a moment.
    # Keys are cached only once found valid, and all dropped when this process revokes one or
    # deletes an app (`forget_keys`); an app is dropped here when this process changes it
    # (`forget_app`). Other processes' changes are seen within the TTL.
    keys: TtlCache[Caller] = field(default_factory=lambda: TtlCache(KEY_TTL))
    apps: TtlCache[dict[str, Any]] = field(default_factory=lambda: TtlCache(APP_TTL))
    # Every app, for checking webhook signatures; re-read whenever none of them signed one.
    all_apps: TtlCache[list[dict[str, Any]]] = field(default_factory=lambda: TtlCache(APP_TTL))
    # Notify URLs found public: a campaign names one URL in every request, and checking it
    # means a DNS lookup in the thread pool. Each delivery checks its URL again
    # (notify.client), so a name re-pointed within the TTL is still refused where it matters.
    public_urls: TtlCache[bool] = field(default_factory=lambda: TtlCache(URL_TTL))
    # Writes the send requests' messages, many requests to a transaction.
    submitter: Submitter = field(init=False)
    # Stores the webhooks' events; status webhooks, many to a transaction.
    inbound: Ingester = field(init=False)

    def __post_init__(self) -> None:
        self.submitter = Submitter(self.db)
        self.inbound = Ingester(self.db)

    def forget_keys(self) -> None:
        self.keys.clear()

    def forget_app(self, app_id: str) -> None:
        self.apps.drop(app_id)
        self.all_apps.drop("")
        self.engine.dispatcher.forget_app(app_id)


async def context(request: Request) -> Context:
    # Async on purpose, as every dependency here: FastAPI runs a sync one in its thread pool,
    # a hop of 0.15-0.2 ms of CPU on every request.
    ctx: Context = request.app.state.ctx
    return ctx
