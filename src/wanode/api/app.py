"""The FastAPI application: routes, error mapping, and the engine's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from wanode import __version__
from wanode.api import (
    apps,
    contacts,
    deliveries,
    docs,
    entry_points,
    errors,
    flows,
    health,
    inbound,
    keys,
    links,
    media,
    messages,
    messaging,
    notify_auth,
    openapi,
    subscriptions,
    templates,
    webhooks,
)
from wanode.api.context import Context
from wanode.api.fast import HotRoutes
from wanode.api.limits import BodyLimit


class WanodeApp(FastAPI):
    """FastAPI with the hot routes answered first, in bare ASGI (`api.fast`); every other
    request, and a hot one whenever that path stands aside, goes through FastAPI."""

    hot: HotRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.hot
        handler = hot.route(scope) if hot is not None else None
        if handler is not None:
            await handler(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(ctx: Context, *, run_engine: bool = True, hot_routes: bool = True) -> WanodeApp:
    """Build the API. With `run_engine`, the engine's loops live as long as the app. Without
    `hot_routes`, FastAPI answers every route (tests compare the two)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if ctx.sandbox is not None:
            # Resumes what its state file left pending, and writes its state behind.
            ctx.sandbox.start()
        if run_engine:
            ctx.engine.start()
        try:
            yield
        finally:
            try:
                if run_engine:
                    await ctx.engine.stop()
            finally:
                # The sandbox writes its state as it closes: even when the engine's stop failed.
                if ctx.sandbox is not None:
                    await ctx.sandbox.aclose()

    # WANODE_PROTECT_DOCS: the documents need a key too (api/docs.py), and so does /metrics.
    keyed = ctx.settings.protect_docs
    app = WanodeApp(
        title="wanode",
        version=__version__,
        description="Self-hosted WhatsApp Business messaging engine",
        lifespan=lifespan,
        docs_url=None if keyed else "/docs",
        redoc_url=None if keyed else "/redoc",
        openapi_url=None if keyed else "/openapi.json",
    )
    app.state.ctx = ctx
    errors.install(app)
    openapi.install(app)
    for module in (
        messaging,
        messages,
        inbound,
        media,
        contacts,
        subscriptions,
        deliveries,
        notify_auth,
        entry_points,
        links,
        templates,
        flows,
        apps,
        keys,
        webhooks,
        health,
    ):
        app.include_router(module.router)
    if keyed:
        app.include_router(docs.keyed_docs(app))
    # Imported here: the console is a shell beside the API that imports the API's auth and
    # context, so importing it at the top would make a cycle.
    from wanode.console import mount as mount_console

    mount_console(app, ctx)
    if ctx.sandbox is not None:
        app.mount("/sandbox", ctx.sandbox.app)
    app.add_middleware(
        BodyLimit,
        max_bytes=ctx.settings.max_request_bytes,
        read_timeout=ctx.settings.request_body_timeout,
    )
    if hot_routes:
        telemetry = getattr(app, "_native_telemetry", None)  # FastAPI's OpenTelemetry, if any
        app.hot = HotRoutes(
            ctx,
            exception_handlers=app.exception_handlers,
            telemetry_enabled=getattr(telemetry, "enabled", None),
        )
    return app
