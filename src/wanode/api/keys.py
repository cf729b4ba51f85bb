"""`/v1/keys`: API keys. A key belongs to one app (it acts on that app's resources only) or is
an admin key (every app; made explicitly, by an admin key). The key itself is shown once, in
the answer that creates it; only its hash is stored.

A revoked key is refused at once by the process that revoked it, and by other processes within
`KEY_TTL` seconds (their cache of valid keys).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from wanode.api._request import load_app
from wanode.api.auth import own_app, require_admin, require_key
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.api.shapes import public_key
from wanode.codes import SYNC
from wanode.store import apps as app_queries

router = APIRouter(dependencies=[Depends(require_key)])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="api", min_length=1, max_length=200)
    app_id: str | None = Field(default=None, description="The app the key acts on")
    admin: bool = Field(default=False, description="An admin key, acting on every app")


@router.post("/v1/keys", status_code=201)
async def create_key(
    body: KeyIn, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    """Create a key for `app_id`, or an admin key (`admin: true`, admin keys only); `key` is in
    this answer only."""
    if body.admin == (body.app_id is not None):
        raise ApiError(
            SYNC.MANDATORY_MISSING if not body.admin else SYNC.INVALID_VALUE,
            "give exactly one of app_id and admin: true",
            field="app_id",
        )
    if body.admin:
        require_admin(caller, "creating an admin key")
    else:
        await load_app(ctx, own_app(caller, body.app_id or "", "app_id"))
    async with ctx.db.begin() as conn:
        key = await app_queries.create_key(conn, body.name, app_id=body.app_id, admin=body.admin)
        found = await app_queries.find_key(conn, key)
        assert found is not None  # written in this transaction
        row = await app_queries.get_key(conn, found["id"])
    assert row is not None
    return {**public_key(row), "key": key}


@router.get("/v1/keys")
async def list_keys(
    ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    """Every key (an app's key: its app's keys), revoked ones too; never the key itself."""
    async with ctx.db.begin() as conn:
        rows = await app_queries.list_keys(conn, app_id=None if caller.admin else caller.app_id)
    return {"keys": [public_key(row) for row in rows]}


@router.delete("/v1/keys/{key_id}", status_code=204)
async def revoke_key(
    key_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> Response:
    """Revoke a key: refused from now on. Revoking a revoked key changes nothing."""
    async with ctx.db.begin() as conn:
        row = await app_queries.get_key(conn, key_id)
        if row is None or not caller.may_act_on(row["app_id"]):
            raise ApiError(SYNC.NOT_FOUND, f"no API key {key_id}", field="key_id", http_status=404)
        await app_queries.revoke_key(conn, key_id, at=ctx.engine.clock())
    ctx.forget_keys()
    return Response(status_code=204)
