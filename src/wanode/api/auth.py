"""API key authentication: header `key: <service key>`, as the Messaging API has it."""

from __future__ import annotations

from fastapi import Depends, Request

from wanode.api.context import Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.store import apps as app_queries


async def require_key(request: Request, ctx: Context = Depends(context)) -> None:
    key = request.headers.get("key")
    if not key:
        raise ApiError(SYNC.KEY_MISSING)
    if ctx.keys.get(key):
        return
    async with ctx.db.begin() as conn:
        if not await app_queries.key_is_valid(conn, key):
            raise ApiError(SYNC.AUTH_FAILED)
    ctx.keys.put(key, True)
