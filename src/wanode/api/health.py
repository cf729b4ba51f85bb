"""Health and metrics."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wanode.api.context import Context, context

router = APIRouter()


@router.get("/healthz")
async def healthz(ctx: Context = Depends(context)) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        await conn.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
