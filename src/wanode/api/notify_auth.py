"""`/v1/notify-auth`: the auth profiles DRs are posted with (the Messaging API's
`notifyurlAuthId`). Secret parameters are write-only; a profile written again (PUT) releases the
DRs parked for want of it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from wanode.api._time import iso
from wanode.api.auth import own_app, require_key, scope
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.policy.notify_auth import Profile, ProfileError, masked, validate
from wanode.store import apps as app_queries
from wanode.store import notify_auth

router = APIRouter(dependencies=[Depends(require_key)])

ProfileId = Path(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="the profile's id, yours to choose")


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    appid: str = Field(min_length=1, max_length=40)
    type: str = Field(
        description="basic (username, password), bearer (token), oauth2 (token_url, "
        "client_id, client_secret, scope), header (name, value)"
    )
    params: dict[str, str]


def _shown(profile: Profile, parked: int | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": profile.id,
        "appid": profile.app_id,
        "type": profile.kind,
        "params": masked(profile.params),
        "updatedAt": iso(profile.updated_at),
    }
    if parked is not None:
        shown["released"] = parked
    return shown


def _not_found() -> ApiError:
    return ApiError(SYNC.INVALID_VALUE, "no such notify auth profile", field="id", http_status=404)


@router.put("/v1/notify-auth/{profile_id}")
async def put_profile(
    body: ProfileIn,
    response: Response,
    profile_id: str = ProfileId,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """Create or replace a profile (201 when created). DRs parked because it did not exist are
    queued again at once, in order; `released` says how many."""
    own_app(caller, body.appid)
    try:
        params = validate(body.type, body.params)
    except ProfileError as exc:
        raise ApiError(SYNC.INVALID_VALUE, str(exc), field=exc.field) from exc
    now = ctx.engine.clock()
    async with ctx.db.begin() as conn:
        if await app_queries.get_app(conn, body.appid) is None:
            raise ApiError(SYNC.INVALID_APP_ID, field="appid", http_status=404)
        try:
            profile, created = await notify_auth.put(
                conn,
                profile_id=profile_id,
                app_id=body.appid,
                kind=body.type,
                params=params,
                at=now,
            )
        except LookupError:
            raise ApiError(
                SYNC.INVALID_VALUE,
                f"profile {profile_id} belongs to another app",
                field="id",
                http_status=409,
            ) from None
        released = await notify_auth.unpark(conn, app_id=body.appid, auth_id=profile_id, at=now)
    ctx.engine.notifier.forget(profile_id=profile_id)
    if released:
        ctx.engine.wake("notify")
    response.status_code = 201 if created else 200
    return _shown(profile, released)


@router.get("/v1/notify-auth")
async def list_profiles(
    appid: str | None = None,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        found = await notify_auth.list_for(conn, scope(caller, appid))
    return {"profiles": [_shown(p) for p in found]}


@router.get("/v1/notify-auth/{profile_id}")
async def get_profile(
    profile_id: str = ProfileId,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        profile = await notify_auth.get(conn, profile_id)
    if profile is None or not caller.may_act_on(profile.app_id):
        raise _not_found()
    return _shown(profile)


@router.delete("/v1/notify-auth/{profile_id}", status_code=204)
async def delete_profile(
    profile_id: str = ProfileId,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> Response:
    """Delete a profile: DRs that name it are parked from now on (never posted without it)
    until a profile of that id is written again."""
    async with ctx.db.begin() as conn:
        profile = await notify_auth.get(conn, profile_id)
        if profile is None or not caller.may_act_on(profile.app_id):
            raise _not_found()
        await notify_auth.delete(conn, profile_id)
    ctx.engine.notifier.forget(profile_id=profile_id)
    return Response(status_code=204)
