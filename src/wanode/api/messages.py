"""Native message resources: `POST /v1/messages` sends one message in the Cloud API's shape
(a template by Meta's `template: {name, language: {code}, components}`, checked against the
template registry); `GET /v1/messages/{transid}` shows a message, its current status and its
full history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from wanode.api._request import (
    app_id,
    bsuid,
    customer_id,
    expiry,
    guard_url,
    json_object,
    load_app,
    notify_auth_id,
    notify_url,
    optional_str,
    queue,
    unresolved_error,
    wa_id,
)
from wanode.api._time import iso
from wanode.api.auth import own_app, require_key
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.api.examples import WA_EXAMPLES, native_body, openapi_body
from wanode.api.links import link_options
from wanode.api.templates import TemplateError, refuse_unsendable
from wanode.codes import SYNC
from wanode.engine.submit import Destination, Submission, Unresolved
from wanode.engine.templates import definition_of, find_by_name
from wanode.messages import Envelope, InvalidMessage, OutboundMessage, bind_native, parse_native
from wanode.messages.envelope import context_message_id
from wanode.messages.templates import FAILURE_CODES, Failure
from wanode.store import messages as outbox

router = APIRouter(dependencies=[Depends(require_key)])

# wanode's own fields beside the Cloud API body; they keep the Messaging API's names.
_OWN_FIELDS = (
    "appid",
    "to",
    "bsuid",
    "customerid",
    "correlationid",
    "callbackData",
    "notifyurl",
    "notifyurlAuthId",
    "expiry",
    "options",
)
_TEMPLATE_FIELDS = (
    "messaging_product",
    "recipient_type",
    "type",
    "template",
    "context",
    "recipient_identity_key_hash",
    "biz_opaque_callback_data",
)

_NATIVE_DOC = (
    "The Cloud API message body (`type` and the object it names, optional `context`, "
    "`recipient_identity_key_hash`, `biz_opaque_callback_data`) with one of `to` (a number), "
    "`bsuid` (a business-scoped user id a webhook of the app named) and `customerid`, plus "
    "wanode's `appid` (required), `correlationid`, `callbackData`, `notifyurl`, `expiry` and "
    "`options` (link shortening and click tracking, as in the Messaging API)."
)


@router.post(
    "/v1/messages",
    status_code=202,
    openapi_extra=openapi_body(
        {kind: native_body(wa) for kind, wa in WA_EXAMPLES.items()}, _NATIVE_DOC
    ),
)
async def send_message(
    request: Request, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> JSONResponse:
    """Send one message of any kind to one WhatsApp user; answers 202 with its transid."""
    answer = await send_native(ctx, caller, json_object(await request.body()))
    return JSONResponse(
        answer, status_code=202, headers={"Location": f"/v1/messages/{answer['transid']}"}
    )


async def send_native(ctx: Context, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """Check and queue one native send (`POST /v1/messages`'s body); the answer's fields, or
    ApiError naming the field at fault. The console's Compose page sends through this too."""
    app = await load_app(ctx, own_app(caller, app_id(body)))
    content = {k: v for k, v in body.items() if k not in _OWN_FIELDS}
    message = (
        await _native_template(ctx, app, content)
        if content.get("type") == "template"
        else _native_message(content)
    )
    submission = Submission(
        app_id=app["id"],
        message=message,
        destinations=(_destination(body, require_e164=app["require_e164"]),),
        correlationid=optional_str(body, "correlationid"),
        callback_data=optional_str(body, "callbackData"),
        notify_url=notify_url(body),
        notify_auth_id=notify_auth_id(body),
        expires_at=expiry(body, now=ctx.engine.clock()),
        links=link_options(ctx, body, message, "template" if message.kind == "template" else ""),
    )
    await guard_url(ctx, submission.notify_url, "notifyurl")
    [row] = await queue(ctx, submission)
    if isinstance(row, Unresolved):
        raise unresolved_error(row)
    answer = {"transid": row["transid"], "status": "queued", "waid": row["wa_id"]}
    if row["correlationid"]:
        answer["correlationid"] = row["correlationid"]
    return answer


def _destination(body: dict[str, Any], *, require_e164: bool) -> Destination:
    """`to` (a number), `bsuid` (a business-scoped user id, resolved to its contact like the
    Messaging API's `{"bsuid": [...]}`) or `customerid` (a contact profile's key), exactly one."""
    given = [key for key in ("to", "bsuid", "customerid") if key in body]
    if len(given) != 1:
        raise ApiError(
            SYNC.MANDATORY_MISSING if not given else SYNC.INVALID_VALUE,
            "exactly one of 'to', 'bsuid' and 'customerid' is mandatory",
            field=given[-1] if given else "to",
        )
    if given == ["to"]:
        return Destination(body["to"], wa_id(body["to"], "to", require_e164=require_e164))
    if given == ["bsuid"]:
        return Destination(bsuid(body["bsuid"], "bsuid"), destination_type="bsuid", field="bsuid")
    return Destination(
        customer_id(body["customerid"], "customerid"),
        destination_type="customerid",
        field="customerid",
    )


def _native_message(body: dict[str, Any]) -> Any:
    try:
        return parse_native(body)
    except InvalidMessage as exc:
        raise ApiError.from_invalid(exc, "") from exc


async def _native_template(
    ctx: Context, app: dict[str, Any], body: dict[str, Any]
) -> OutboundMessage:
    """A Cloud API template send bound to its registry template (by name and language)."""
    unknown = sorted(set(body) - set(_TEMPLATE_FIELDS))
    if unknown:
        raise ApiError(SYNC.INVALID_VALUE, f"{unknown[0]} is not a field", field=unknown[0])
    for key, only in (("messaging_product", "whatsapp"), ("recipient_type", "individual")):
        if key in body and body[key] != only:
            raise ApiError(SYNC.INVALID_VALUE, f'{key} must be "{only}"', field=key)
    template = _object(body, "template", "template")
    name = _string(template, "name", "template.name")
    code = _string(
        _object(template, "language", "template.language"), "code", "template.language.code"
    )
    try:
        envelope = Envelope(
            context_message_id=context_message_id(body["context"]) if "context" in body else None,
            identity_key_hash=body.get("recipient_identity_key_hash"),
            biz_opaque_callback_data=body.get("biz_opaque_callback_data"),
        )
    except InvalidMessage as exc:
        raise ApiError.from_invalid(exc, "") from exc
    languages = await find_by_name(ctx.db, app, name)
    if not languages:
        raise TemplateError(
            SYNC.INVALID_TEMPLATE_ID,
            f"template.name {name!r} is not a template of app {app['id']}",
            field="template.name",
        )
    row = languages.get(code)
    if row is None:
        raise TemplateError(
            FAILURE_CODES[Failure.INACTIVE],
            f"template.language.code: {name!r} has no {code!r} version; it has "
            + ", ".join(sorted(languages)),
            field="template.language.code",
        )
    definition = definition_of(row)
    refuse_unsendable(definition, "template")
    try:
        return bind_native(definition, template, envelope=envelope)
    except InvalidMessage as exc:
        raise TemplateError.from_invalid(exc, "template") from exc


def _object(data: dict[str, Any], key: str, field: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        raise ApiError(SYNC.MANDATORY_MISSING, f"param '{field}' missing", field=field)
    if not isinstance(value, dict):
        raise ApiError(SYNC.INVALID_VALUE, f"{field} must be an object", field=field)
    return value


def _string(data: dict[str, Any], key: str, field: str) -> str:
    value = data.get(key)
    if value is None:
        raise ApiError(SYNC.MANDATORY_MISSING, f"param '{field}' missing", field=field)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(SYNC.INVALID_VALUE, f"{field} must be a non-empty string", field=field)
    return value


@router.get("/v1/messages/{transid}")
async def get_message(
    transid: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        message = await outbox.get(conn, transid)
        if message is None or not caller.may_act_on(message["app_id"]):
            raise ApiError(SYNC.NOT_FOUND, f"no message with transid {transid}", field="transid")
        history = await outbox.history(conn, transid)
        deliveries = await outbox.deliveries(conn, transid)
    error = None
    if message["error_code"] is not None or message["error_title"]:
        error = {
            "code": message["error_code"],
            "title": message["error_title"],
            "details": message["error_details"],
        }
    return {
        "transid": message["transid"],
        "appid": message["app_id"],
        "destination": message["destination"],
        "destinationType": message["destination_type"],
        "waid": message["wa_id"],
        "type": message["kind"],
        "status": message["status"],
        "wamid": message["wamid"],
        "attempts": message["attempts"],
        "error": error,
        # While queued: why pacing holds it ("tier" or "pacing"), if it does.
        "heldReason": message["held_reason"] if message["status"] == "queued" else None,
        # An attempt timed out after it was sent and the Cloud API was asked again.
        "possiblyDuplicated": message["possibly_duplicated"],
        "correlationid": message["correlationid"],
        "callbackData": message["callback_data"],
        "notifyurl": message["notify_url"],
        "notifyurlAuthId": message.get("notify_auth_id"),
        "createdAt": iso(message["created_at"]),
        "expiry": iso(message["expires_at"]),
        "payload": message["payload"],
        "history": [
            {
                "status": h["status"],
                "at": iso(h["occurred_at"]),
                "source": h["source"],
                **(
                    {
                        "error": {
                            "code": h["error_code"],
                            "title": h["error_title"],
                            "details": h["error_details"],
                        }
                    }
                    if h["error_title"]
                    else {}
                ),
            }
            for h in history
        ],
        "deliveryReports": [
            {
                "status": d["status"],
                "code": d["body"]["deliveryInfoNotification"]["deliveryInfo"]["code"],
                "state": d["state"],
                "attempts": d["attempts"],
                "lastStatusCode": d["last_status_code"],
                "lastError": d["last_error"],
            }
            for d in deliveries
        ],
    }
