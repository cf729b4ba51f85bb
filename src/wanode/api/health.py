"""Health and metrics."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wanode.api.auth import require_admin, require_key
from wanode.api.context import Context, context

router = APIRouter()


@router.get("/healthz")
async def healthz(ctx: Context = Depends(context)) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        await conn.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


async def _metrics_access(request: Request, ctx: Context = Depends(context)) -> None:
    """With WANODE_PROTECT_DOCS, /metrics (every app's counters) takes an admin key."""
    if ctx.settings.protect_docs:
        require_admin(await require_key(request, ctx), "/metrics")


@router.get("/metrics", dependencies=[Depends(_metrics_access)])
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
