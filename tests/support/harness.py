"""wanode assembled in-process: API, engine and sandbox, with webhooks over an ASGI transport."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from wanode.api import Context
from wanode.cli.bootstrap import build_service, ensure_defaults, provision_all
from wanode.config import Settings
from wanode.store import Database
from wanode.store import apps as app_queries


class LateApp:
    """An ASGI app whose target is set after construction (the sandbox and API point at each
    other: the API mounts the sandbox, the sandbox posts webhooks to the API)."""

    target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None
        await self.target(scope, receive, send)


@dataclass
class Harness:
    ctx: Context
    client: httpx.AsyncClient
    key: str
    app_id: str
    app: dict[str, Any]

    @property
    def sandbox(self) -> Any:
        return self.ctx.sandbox

    async def send_text(
        self, to: str | list[str], body: str = "hello", **extra: Any
    ) -> httpx.Response:
        numbers = [to] if isinstance(to, str) else to
        payload = {
            "appid": self.app_id,
            "deliverychannel": "whatsapp",
            "destination": [{"waid": numbers}],
            "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": body}}}},
            **extra,
        }
        return await self.client.post("/resources/v1/messaging", json=payload)

    async def message(self, transid: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/messages/{transid}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def wait_status(self, transid: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
        return await wait_until(
            lambda: self.message(transid),
            lambda m: m["status"] == status,
            timeout=timeout,
            what=f"{transid} to become {status}",
        )


async def wait_until(
    fetch: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float, what: str
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        await asyncio.sleep(0.02)


def fast_settings(db: Database, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": str(db.url),
        "sandbox_sent_delay": 0.0,
        "sandbox_delivered_delay": 0.02,
        "sandbox_read_delay": 0.04,
        "poll_interval": 0.02,
        # Tests wait for timers (retries, holds) at the poll interval: no idle back-off.
        "idle_poll_max": 0.02,
        "notify_retry_interval": 0.1,
        "dispatch_backoff_base": 0.05,
        "notify_timeout": 2.0,
        # Tests send media links on hosts that do not exist; a test that fetches media serves
        # it on loopback and turns the preflight on.
        "media_preflight": False,
        # Nor does the sandbox fetch them: tests of its fetch serve files on loopback and
        # turn it on.
        "sandbox_fetch_media": False,
        # Most tests message handsets that never wrote first; the window has tests of its own.
        "policy_window": False,
        "sandbox_enforce_window": False,  # nor may the sandbox fail them with 131047
        # The engine's identity-hash features need the hashes in webhooks; the sandbox's
        # default (off, as at Meta) is tested in tests/sandbox.
        "sandbox_identity_check": True,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running(
    db: Database,
    *,
    clock: Callable[[], float] = time.time,
    start_engine: bool = True,
    cloud_transport: httpx.AsyncBaseTransport | None = None,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    """wanode with its engine loops running and the sandbox mounted, all in this event loop.
    `cloud_transport` carries the requests of apps on the Cloud API (a mock of Graph)."""
    settings = fast_settings(db, **overrides)
    late = LateApp()
    api, ctx = build_service(
        settings,
        db,
        webhook_transport=httpx.ASGITransport(app=late),
        cloud_transport=cloud_transport,
        clock=clock,
    )
    late.target = api
    first = await ensure_defaults(db, gateway="sandbox")
    key = first.new_key
    if key is None:
        async with db.begin() as conn:
            key = await app_queries.create_key(conn, "test", admin=True)
    await provision_all(db, ctx.sandbox, settings)
    if start_engine:
        ctx.engine.start()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),
        base_url="http://wanode",
        headers={"key": key},
    )
    try:
        yield Harness(ctx, client, key, first.app["id"], first.app)
    finally:
        await client.aclose()
        if start_engine:
            await ctx.engine.stop()
        else:
            await ctx.engine.gateways.aclose()
            await ctx.engine.notify_client.aclose()
        await ctx.sandbox.aclose()
