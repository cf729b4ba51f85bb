"""Inbound messages: what customers sent, and read receipts (with a typing indicator) for them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from wanode.api._request import json_object, wa_id
from wanode.api._time import iso
from wanode.api.auth import require_key, scope
from wanode.api.context import Caller, Context, context
from wanode.api.errors import WHATSAPP_ANSWERS, ApiError
from wanode.codes import SYNC
from wanode.engine.receipts import UnknownInbound, mark_read
from wanode.gateway import GatewayError
from wanode.store import contacts as contact_queries

router = APIRouter(dependencies=[Depends(require_key)])


@router.get("/v1/inbound")
async def list_inbound(
    ctx: Context = Depends(context),
    waid: str | None = None,
    appid: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """The newest inbound messages first; `waid` narrows them to one customer, `appid` to
    one app (an app's API key sees its own app's only)."""
    number = wa_id(waid, "waid") if waid is not None else None
    app_id = scope(caller, appid)
    async with ctx.db.begin() as conn:
        rows = await contact_queries.list_inbound(conn, wa_id=number, app_id=app_id, limit=limit)
    return {
        "messages": [
            {
                "wamid": row["wamid"],
                "appid": row["app_id"],
                "waid": row["wa_id"],
                "type": row["kind"],
                "at": iso(row["occurred_at"]),
                "message": row["payload"],
            }
            for row in rows
        ]
    }


@router.post(
    "/v1/inbound/{wamid}/read",
    responses=WHATSAPP_ANSWERS,
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"typing_indicator": {"type": "boolean"}},
                        "additionalProperties": False,
                    },
                    "example": {"typing_indicator": True},
                }
            },
        }
    },
)
async def read(
    wamid: str,
    request: Request,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """Mark a received message read (blue ticks); `typing_indicator` shows "typing…" up to 25 s
    or until the next message is sent."""
    raw = await request.body()
    body = json_object(raw) if raw.strip() else {}
    unknown = sorted(set(body) - {"typing_indicator"})
    if unknown:
        raise ApiError(SYNC.INVALID_VALUE, f"{unknown[0]} is not a field", field=unknown[0])
    typing = body.get("typing_indicator", False)
    if not isinstance(typing, bool):
        raise ApiError(
            SYNC.INVALID_VALUE, "typing_indicator must be true or false", field="typing_indicator"
        )
    if not caller.admin:
        async with ctx.db.begin() as conn:
            inbound = await contact_queries.get_inbound(conn, wamid)
        if inbound is None or not caller.may_act_on(inbound["app_id"]):
            raise ApiError(SYNC.NOT_FOUND, f"no inbound message with wamid {wamid}", field="wamid")
    try:
        rejected = await mark_read(ctx.db, ctx.engine.gateways, wamid, typing_indicator=typing)
    except UnknownInbound as exc:
        raise ApiError(
            SYNC.NOT_FOUND, f"no inbound message with wamid {wamid}", field="wamid"
        ) from exc
    except (GatewayError, LookupError) as exc:
        raise ApiError(
            SYNC.INTERNAL_ERROR, f"WhatsApp could not be reached: {exc}", http_status=502
        ) from exc
    if rejected is not None:
        raise ApiError(
            SYNC.INVALID_VALUE,
            f"WhatsApp refused the read receipt: ({rejected.code}) {rejected.title}: "
            f"{rejected.details}",
            field="wamid",
            http_status=502 if rejected.http_status >= 500 else 400,
        )
    return {"success": True, "wamid": wamid, "typing_indicator": typing}
