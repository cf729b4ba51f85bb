"""`/v1/apps`: registering WhatsApp business numbers. Secrets are write-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import IntegrityError

from wanode.api._request import guard_url
from wanode.api.auth import require_admin, require_key
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.api.shapes import (
    AppIn,
    Category,
    InDoubt,
    NotifySecret,
    Signing,
    Tier,
    pacing_json,
    public_app,
    valid_notify_url,
)
from wanode.codes import SYNC
from wanode.engine.gateways import provision_in_sandbox
from wanode.engine.pacing_status import pacing_status, release_held, stored_tier
from wanode.store import apps as app_queries

router = APIRouter(dependencies=[Depends(require_key)])


class AppSettings(BaseModel):
    """What can change on a registered app (`PATCH /v1/apps/{id}`)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    notify_url: str | None = None
    # Destinations must be written +E.164 (the spec's tenant setting).
    require_e164: bool | None = None
    # Template categories needing an opt-in outside the window; [] turns the check off.
    opt_in_categories: list[Category] | None = None
    messaging_tier: Tier | None = None
    # A send a crash left unanswered: sent again and flagged possiblyDuplicated ("resend"), or
    # failed with DR 7010 so that no customer ever gets it twice ("fail", at most once).
    in_doubt: InDoubt | None = None
    # Sign DRs (null: stop signing); the secret is write-only.
    notify_signing: Signing | None = None
    notify_secret: NotifySecret | None = None

    _notify = field_validator("notify_url")(valid_notify_url)


@router.post(
    "/v1/apps",
    status_code=201,
    responses={409: {"description": "The phone number id is registered to another app"}},
)
async def create_app(
    body: AppIn, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    require_admin(caller, "registering an app")
    if body.notify_signing and not body.notify_secret:
        raise _signing_needs_a_secret()
    await guard_url(ctx, body.notify_url, "notify_url")
    await guard_url(ctx, body.graph_base_url, "graph_base_url")
    values = body.model_dump()
    values["display_phone_number"] = values["display_phone_number"] or values["phone_number_id"]
    values["messaging_tier"] = stored_tier(values["messaging_tier"])
    try:
        async with ctx.db.begin() as conn:
            app = await app_queries.create_app(conn, **values)
    except IntegrityError as exc:
        raise ApiError(
            SYNC.INVALID_VALUE,
            f"phone_number_id {body.phone_number_id} is already registered",
            field="phone_number_id",
            http_status=409,
        ) from exc
    if ctx.sandbox is not None and app["gateway"] == "sandbox" and not app["graph_base_url"]:
        provision_in_sandbox(ctx.sandbox, app, ctx.settings.webhook_url())
    return public_app(app)


@router.get("/v1/apps")
async def list_apps(
    ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        found = await app_queries.list_apps(conn)
    return {"apps": [public_app(a) for a in found if caller.may_act_on(a["id"])]}


@router.get("/v1/apps/{app_id}")
async def get_app(
    app_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    if not caller.may_act_on(app_id):
        raise ApiError(SYNC.INVALID_APP_ID, field="app_id", http_status=404)
    async with ctx.db.begin() as conn:
        app = await app_queries.get_app(conn, app_id)
    if app is None:
        raise ApiError(SYNC.INVALID_APP_ID, field="app_id", http_status=404)
    return public_app(app)


@router.get("/v1/apps/{app_id}/pacing")
async def get_pacing(
    app_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    """The app's messaging tier, the new customers in its rolling 24-hour window, and its
    queued messages that pacing holds, by reason (`tier`, `pacing`)."""
    if not caller.may_act_on(app_id):
        raise ApiError(SYNC.INVALID_APP_ID, field="app_id", http_status=404)
    async with ctx.db.begin() as conn:
        app = await app_queries.get_app(conn, app_id)
        if app is None:
            raise ApiError(SYNC.INVALID_APP_ID, field="app_id", http_status=404)
        status = await pacing_status(conn, app, ctx.settings, now=ctx.engine.clock())
    return pacing_json(status)


@router.patch("/v1/apps/{app_id}")
async def update_app(
    app_id: str,
    body: AppSettings,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """Change an app's settings; fields left out keep their value, `null` clears `notify_url`
    and resets `opt_in_categories` and `messaging_tier` to their defaults."""
    if not caller.may_act_on(app_id):
        raise ApiError(SYNC.INVALID_APP_ID, field="app_id", http_status=404)
    changes = body.model_dump(exclude_unset=True)
    await guard_url(ctx, changes.get("notify_url"), "notify_url")
    if "messaging_tier" in changes:
        changes["messaging_tier"] = stored_tier(changes["messaging_tier"])
    if changes.get("name", "") is None or changes.get("require_e164", False) is None:
        raise ApiError(SYNC.INVALID_VALUE, "name and require_e164 cannot be null")
    if "in_doubt" in changes and changes["in_doubt"] is None:
        changes["in_doubt"] = "resend"
    if "notify_secret" in changes and changes["notify_secret"] is None:
        changes["notify_signing"] = None
    released = 0
    async with ctx.db.begin() as conn:
        if changes.get("notify_signing") and not changes.get("notify_secret"):
            current = await app_queries.get_app(conn, app_id)
            if current is not None and not current.get("notify_secret"):
                raise _signing_needs_a_secret()
        app = await app_queries.update_app(conn, app_id, **changes)
        if app is not None and "messaging_tier" in changes:
            # A raised tier lets go of what the old one held, oldest first.
            released = await release_held(conn, app, ctx.settings, now=ctx.engine.clock())
    if app is None:
        raise ApiError(SYNC.INVALID_APP_ID, field="app_id", http_status=404)
    ctx.forget_app(app_id)
    ctx.engine.notifier.forget(app_id=app_id)
    if released:
        ctx.engine.wake("dispatch")
    return public_app(app)


def _signing_needs_a_secret() -> ApiError:
    return ApiError(
        SYNC.MANDATORY_MISSING,
        "notify_signing needs a notify_secret (16 to 512 characters)",
        field="notify_secret",
    )


@router.delete(
    "/v1/apps/{app_id}",
    status_code=204,
    responses={409: {"description": "The app still has messages or other records"}},
)
async def delete_app(
    app_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> Response:
    """Delete an app (admin keys only); its API keys go with it."""
    require_admin(caller, "deleting an app")
    try:
        async with ctx.db.begin() as conn:
            deleted = await app_queries.delete_app(conn, app_id)
    except IntegrityError as exc:
        raise ApiError(
            SYNC.INVALID_VALUE,
            "the app still has messages, templates, subscriptions, entry points or media; "
            "it is kept so their history stays complete",
            field="app_id",
            http_status=409,
        ) from exc
    if not deleted:
        raise ApiError(SYNC.INVALID_APP_ID, field="app_id", http_status=404)
    ctx.forget_app(app_id)
    ctx.forget_keys()
    return Response(status_code=204)
