"""The FastAPI application: routes, error mapping, and the engine's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from wanode import __version__
from wanode.api import (
    apps,
    contacts,
    deliveries,
    entry_points,
    errors,
    flows,
    health,
    inbound,
    media,
    messages,
    messaging,
    subscriptions,
    templates,
    webhooks,
)
from wanode.api.context import Context
from wanode.api.limits import BodyLimit


def create_app(ctx: Context, *, run_engine: bool = True) -> FastAPI:
    """Build the API. With `run_engine`, the engine's loops live as long as the app."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_engine:
            ctx.engine.start()
        try:
            yield
        finally:
            if run_engine:
                await ctx.engine.stop()
            if ctx.sandbox is not None:
                await ctx.sandbox.aclose()

    app = FastAPI(
        title="wanode",
        version=__version__,
        description="Self-hosted WhatsApp Business messaging engine",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    for module in (
        messaging,
        messages,
        inbound,
        media,
        contacts,
        subscriptions,
        deliveries,
        entry_points,
        templates,
        flows,
        apps,
        webhooks,
        health,
    ):
        app.include_router(module.router)
    if ctx.sandbox is not None:
        app.mount("/sandbox", ctx.sandbox.app)
    app.add_middleware(
        BodyLimit,
        max_bytes=ctx.settings.max_request_bytes,
        read_timeout=ctx.settings.request_body_timeout,
    )
    return app
