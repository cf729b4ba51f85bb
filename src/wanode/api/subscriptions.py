"""`/v1/subscriptions`: webhooks that receive inbound WhatsApp events (webex-connect.md §4).

Each event is POSTed as JSON, signed with the subscription's secret in `X-Hub-Signature-256`
(`sha256=<hex HMAC-SHA256 of the body>`, as Meta signs its webhooks) and named in
`X-Wanode-Event`. The secret is shown once, in the answer to the POST.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from wanode.api._request import guard_url
from wanode.api._time import iso
from wanode.api.auth import require_key, scope
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.notify.events import EVENT_NAMES
from wanode.notify.urls import InvalidNotifyUrl, validate_notify_url
from wanode.store import apps as app_queries
from wanode.store import subscriptions as queries

router = APIRouter(dependencies=[Depends(require_key)])


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    appid: str | None = Field(default=None, description="Only this app's events; all when absent.")
    events: list[str] | None = Field(
        default=None,
        min_length=1,
        description=f"Event names among {', '.join(EVENT_NAMES)}; every event when absent.",
    )
    # A secret the receiver already holds may be reused; a short one would be guessable.
    secret: str | None = Field(default=None, min_length=16, max_length=256)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            url = validate_notify_url(value)
        except InvalidNotifyUrl as exc:
            raise ValueError(exc.message) from exc
        if url.startswith("$("):
            # Flow variables are resolved per flow run; a subscription has none to resolve.
            raise ValueError("a subscription needs an http or https URL, not a variable")
        return url

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [name for name in value if name not in EVENT_NAMES]
        if unknown:
            raise ValueError(
                f"unknown event {unknown[0]!r}; expected some of {', '.join(EVENT_NAMES)}"
            )
        return list(dict.fromkeys(value))


def public(sub: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": sub["id"],
        "appid": sub["app_id"],
        "url": sub["url"],
        "events": sub["events"],
        "created_at": iso(sub["created_at"]),
    }


@router.post("/v1/subscriptions", status_code=201)
async def create_subscription(
    body: SubscriptionIn, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    """Subscribe to one app's events (`appid`), or to every app's: an app's API key always
    subscribes to its own app's."""
    app_id = scope(caller, body.appid)
    await guard_url(ctx, body.url, "url")
    async with ctx.db.begin() as conn:
        if app_id is not None and await app_queries.get_app(conn, app_id) is None:
            raise ApiError(SYNC.INVALID_APP_ID, field="appid")
        sub = await queries.create(
            conn,
            url=body.url,
            app_id=app_id,
            events=body.events,
            secret=body.secret,
            at=ctx.engine.clock(),
        )
    return {**public(sub), "secret": sub["secret"]}


@router.get("/v1/subscriptions")
async def list_subscriptions(
    ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        found = await queries.list_all(conn)
    return {"subscriptions": [public(s) for s in found if caller.may_act_on(s["app_id"])]}


@router.get("/v1/subscriptions/{subscription_id}")
async def get_subscription(
    subscription_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        sub = await queries.get(conn, subscription_id)
    if sub is None or not caller.may_act_on(sub["app_id"]):
        raise _not_found(subscription_id)
    return public(sub)


@router.get("/v1/subscriptions/{subscription_id}/deliveries")
async def list_deliveries(
    subscription_id: str,
    ctx: Context = Depends(context),
    limit: int = Query(default=50, ge=1, le=500),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """The newest events queued for the subscription and how their delivery went."""
    async with ctx.db.begin() as conn:
        sub = await queries.get(conn, subscription_id)
        if sub is None or not caller.may_act_on(sub["app_id"]):
            raise _not_found(subscription_id)
        rows = await queries.list_deliveries(conn, subscription_id, limit=limit)
    return {
        "deliveries": [
            {
                "wamid": row["wamid"],
                "waid": row["wa_id"],
                "event": row["body"]["event"],
                "state": row["state"],
                "attempts": row["attempts"],
                "last_status_code": row["last_status_code"],
                "last_error": row["last_error"],
                "created_at": iso(row["created_at"]),
                "finished_at": iso(row["finished_at"]),
            }
            for row in rows
        ]
    }


@router.delete("/v1/subscriptions/{subscription_id}", status_code=204)
async def delete_subscription(
    subscription_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> Response:
    async with ctx.db.begin() as conn:
        sub = await queries.get(conn, subscription_id)
        deleted = sub is not None and caller.may_act_on(sub["app_id"])
        if deleted:
            deleted = await queries.delete(conn, subscription_id)
    if not deleted:
        raise _not_found(subscription_id)
    return Response(status_code=204)


def _not_found(subscription_id: str) -> ApiError:
    return ApiError(
        SYNC.NOT_FOUND, f"no subscription with id {subscription_id}", field="id", http_status=404
    )
