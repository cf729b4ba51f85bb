"""`POST /resources/v1/messaging`: the Webex-compatible Messaging API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from wanode.api._request import (
    app_id,
    customer_id,
    expiry,
    guard_url,
    json_object,
    load_app,
    notify_url,
    optional_str,
    queue,
    unresolved_error,
    wa_id,
)
from wanode.api.auth import require_key
from wanode.api.context import Context, context
from wanode.api.errors import ApiError
from wanode.api.examples import WA_EXAMPLES, messaging_body, openapi_body
from wanode.codes import SYNC
from wanode.engine.submit import Destination, Submission, Unresolved
from wanode.messages import InvalidMessage, OutboundMessage, parse_wa

router = APIRouter()

MAX_DESTINATIONS = 1000
_WA_PATH = "channels.OTT-Messaging.wa"
_DESTINATION_KEYS = ("waid", "customerid")


@router.post(
    "/resources/v1/messaging",
    dependencies=[Depends(require_key)],
    openapi_extra=openapi_body(
        {kind: messaging_body(wa) for kind, wa in WA_EXAMPLES.items()},
        "Webex Connect Messaging API v1 request; `channels.OTT-Messaging.wa` holds the message.",
    ),
)
async def send_messages(request: Request, ctx: Context = Depends(context)) -> JSONResponse:
    body = json_object(await request.body())
    for name in ("appid", "deliverychannel", "destination", "channels"):
        if name not in body:
            raise ApiError(SYNC.MANDATORY_MISSING, f"param '{name}' missing", field=name)
    if body["deliverychannel"] != "whatsapp":
        raise ApiError(
            SYNC.INVALID_VALUE, "deliverychannel must be 'whatsapp'", field="deliverychannel"
        )
    if "message" in body:
        raise ApiError(
            SYNC.INVALID_VALUE,
            "template messages ('message') are not supported by this version of wanode",
            field="message",
        )
    app = await load_app(ctx, app_id(body))
    submission = Submission(
        app_id=app["id"],
        message=_message(body["channels"]),
        destinations=tuple(_destinations(body["destination"], require_e164=app["require_e164"])),
        correlationid=optional_str(body, "correlationid"),
        callback_data=optional_str(body, "callbackData"),
        notify_url=notify_url(body),
        expires_at=expiry(body, now=ctx.engine.clock()),
    )
    await guard_url(ctx, submission.notify_url, "notifyurl")
    response = []
    for outcome in await queue(ctx, submission):
        if isinstance(outcome, Unresolved):
            # One unknown customer does not sink the request: the others are queued.
            error = unresolved_error(outcome)
            item = {"code": error.code, "description": error.description, "field": error.field}
            correlationid = outcome.destination.correlationid or submission.correlationid
        else:
            item = {"code": SYNC.QUEUED, "transid": outcome["transid"], "description": "Queued"}
            correlationid = outcome["correlationid"]
        if correlationid:
            item["correlationid"] = correlationid
        response.append(item)
    return JSONResponse({"response": response})


def _destinations(value: Any, *, require_e164: bool) -> list[Destination]:
    if not isinstance(value, list) or not value:
        raise ApiError(
            SYNC.INVALID_VALUE, "destination must be a non-empty array", field="destination"
        )
    found: list[Destination] = []
    for i, entry in enumerate(value):
        path = f"destination[{i}]"
        if not isinstance(entry, dict):
            raise ApiError(SYNC.INVALID_VALUE, f"{path} must be an object", field=path)
        keys = [k for k in _DESTINATION_KEYS if k in entry]
        if len(keys) != 1:
            raise ApiError(
                SYNC.MANDATORY_MISSING if not keys else SYNC.INVALID_VALUE,
                f"{path}: exactly one of 'waid' and 'customerid' is mandatory",
                field=f"{path}.{keys[-1] if keys else 'waid'}",
            )
        unknown = sorted(set(entry) - {*_DESTINATION_KEYS, "correlationid"})
        if unknown:
            raise ApiError(
                SYNC.INVALID_VALUE,
                f"{path}.{unknown[0]} is not a supported destination field",
                field=f"{path}.{unknown[0]}",
            )
        [kind] = keys
        values = entry[kind]
        if not isinstance(values, list) or not values:
            raise ApiError(
                SYNC.INVALID_VALUE,
                f"{path}.{kind} must be a non-empty array",
                field=f"{path}.{kind}",
            )
        correlationid = entry.get("correlationid")
        if correlationid is not None and not isinstance(correlationid, str):
            raise ApiError(
                SYNC.INVALID_VALUE,
                f"{path}.correlationid must be a string",
                field=f"{path}.correlationid",
            )
        for j, given in enumerate(values):
            at = f"{path}.{kind}[{j}]"
            if kind == "waid":
                number = wa_id(given, at, require_e164=require_e164)
                found.append(Destination(given, number, correlationid, "waid", at))
            else:
                found.append(Destination(customer_id(given, at), None, correlationid, kind, at))
            if len(found) > MAX_DESTINATIONS:
                raise ApiError(SYNC.TOO_MANY_DESTINATIONS, field="destination")
    return found


def _message(channels: Any) -> OutboundMessage:
    ott = channels.get("OTT-Messaging") if isinstance(channels, dict) else None
    wa = ott.get("wa") if isinstance(ott, dict) else None
    if wa is None:
        raise ApiError(
            SYNC.MANDATORY_MISSING,
            "param 'OTT-Messaging.wa' missing for channel whatsapp",
            field=_WA_PATH,
        )
    try:
        return parse_wa(wa)
    except InvalidMessage as exc:
        raise ApiError.from_invalid(exc, _WA_PATH) from exc
