"""API key authentication: header `key: <service key>`, as the Messaging API has it.

A key belongs to one app or is an admin key. `require_key` answers the `Caller`; the routes
check it against the app of what they touch:

- an app named in the request (`appid` of a send, an upload, a new resource, a filter) that is
  not the key's own is refused with 7001 and HTTP 403 (`own_app`), whether it exists or not;
- a resource addressed by its id that belongs to another app answers as if it did not exist;
- lists show the key's own app's resources only.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from wanode.api import jwt_auth
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.store import apps as app_queries


async def require_key(request: Request, ctx: Context = Depends(context)) -> Caller:
    return await authenticate(ctx, request.headers.get("authorization"), request.headers.get("key"))


async def authenticate(ctx: Context, authorization: str | None, key: str | None) -> Caller:
    """The caller of a request with these `Authorization` and `key` headers (None: absent), or
    ApiError 7001/7002 (401). The routes' dependency and the hot routes (`api.fast`) both ask
    here."""
    if authorization is not None and authorization[:7].lower() == "bearer ":
        # A JWT wins over a key sent beside it (webex-connect.md §1).
        return await _jwt_caller(ctx, authorization[7:].strip())
    if not key:
        raise ApiError(SYNC.KEY_MISSING)
    caller = await key_caller(ctx, key)
    if caller is None:
        raise ApiError(SYNC.AUTH_FAILED)
    return caller


async def key_caller(ctx: Context, key: str) -> Caller | None:
    """The caller `key` authenticates, through the cache of valid keys; None for an unknown or
    revoked key. The console checks its session's key with this on every request."""
    caller = ctx.keys.get(key)
    if caller is not None:
        return caller
    async with ctx.db.begin() as conn:
        found = await app_queries.find_key(conn, key)
    if found is None:
        return None
    caller = Caller(key_id=found["id"], app_id=found["app_id"], admin=bool(found["admin"]))
    ctx.keys.put(key, caller)
    return caller


async def _jwt_caller(ctx: Context, token: str) -> Caller:
    """The app a JWT acts for, once verified with that app's service secret; 7001 (401)
    otherwise, saying why. A token that fails against the cached app is tried once more
    against the stored one (a service secret made or replaced a moment ago)."""
    try:
        app_id = jwt_auth.issuer(token)
        try:
            _verify_jwt(token, ctx.apps.get(app_id), ctx)
        except jwt_auth.InvalidToken:
            async with ctx.db.begin() as conn:
                app = await app_queries.get_app(conn, app_id)
            if app is not None:
                ctx.apps.put(app_id, app)
            _verify_jwt(token, app, ctx)
    except jwt_auth.InvalidToken as exc:
        raise ApiError(SYNC.AUTH_FAILED, f"JWT refused: {exc}") from None
    return Caller(key_id=f"jwt:{app_id}", app_id=app_id, admin=False)


def _verify_jwt(token: str, app: dict[str, Any] | None, ctx: Context) -> None:
    if app is None or not app.get("service_secret"):
        raise jwt_auth.InvalidToken("no service of that iss has a service secret")
    jwt_auth.verify(token, app["service_secret"], now=ctx.engine.clock())


def own_app(caller: Caller, app_id: str, field: str = "appid") -> str:
    """`app_id` if the caller may act on it; else 7001 (403), which says nothing of whether
    that app exists."""
    if not caller.may_act_on(app_id):
        raise ApiError(
            SYNC.AUTH_FAILED,
            f"this API key acts on app {caller.app_id} only",
            field=field,
            http_status=403,
        )
    return app_id


def scope(caller: Caller, app_id: str | None, field: str = "appid") -> str | None:
    """The app a list or a bulk action is narrowed to: the one asked for (checked), or an app
    key's own app when none was asked for; None (every app) for an admin key asking none."""
    if app_id is not None:
        return own_app(caller, app_id, field)
    return None if caller.admin else caller.app_id


def require_admin(caller: Caller, what: str) -> None:
    if not caller.admin:
        raise ApiError(SYNC.AUTH_FAILED, f"{what} needs an admin API key", http_status=403)
