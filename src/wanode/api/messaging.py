"""`POST /resources/v1/messaging`: the Webex-compatible Messaging API.

A session message is `channels.OTT-Messaging.wa`; a template message is
`message: {"template": "<template id>", "parameters": {...}}` (webex-connect.md §1.4), checked
against the template registry, with `channels.OTT-Messaging.wa` then carrying only an optional
`identity_key_hash`.
"""

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
from wanode.api.auth import own_app, require_key
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.api.examples import WA_EXAMPLES, messaging_body, openapi_body
from wanode.api.links import link_options
from wanode.api.templates import TemplateError, refuse_unsendable
from wanode.codes import SYNC
from wanode.engine.submit import Destination, Submission, Unresolved
from wanode.engine.templates import definition_of, find_by_id
from wanode.messages import Envelope, InvalidMessage, OutboundMessage, bind_webex, parse_wa

router = APIRouter()

MAX_DESTINATIONS = 1000
_WA_PATH = "channels.OTT-Messaging.wa"
_MESSAGE_KEYS = ("template", "parameters")
_DESTINATION_KEYS = ("waid", "bsuid", "customerid")


@router.post(
    "/resources/v1/messaging",
    dependencies=[Depends(require_key)],
    openapi_extra=openapi_body(
        {kind: messaging_body(wa) for kind, wa in WA_EXAMPLES.items()},
        "Webex Connect Messaging API v1 request; `channels.OTT-Messaging.wa` holds the message.",
    ),
)
async def send_messages(
    request: Request, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> JSONResponse:
    response = await send_webex(ctx, caller, json_object(await request.body()))
    return JSONResponse({"response": response})


async def send_webex(ctx: Context, caller: Caller, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Check and queue a Messaging API request's messages; the answer's `response` items, or
    ApiError naming the field at fault. The console's Compose page sends through this too."""
    template = "message" in body
    for name in ("appid", "deliverychannel", "destination", *(() if template else ("channels",))):
        if name not in body:
            raise ApiError(SYNC.MANDATORY_MISSING, f"param '{name}' missing", field=name)
    if body["deliverychannel"] != "whatsapp":
        raise ApiError(
            SYNC.INVALID_VALUE, "deliverychannel must be 'whatsapp'", field="deliverychannel"
        )
    app = await load_app(ctx, own_app(caller, app_id(body)))
    message = (
        await _template_message(ctx, app, body["message"], body.get("channels"))
        if template
        else _message(body["channels"])
    )
    submission = Submission(
        app_id=app["id"],
        message=message,
        destinations=tuple(_destinations(body["destination"], require_e164=app["require_e164"])),
        correlationid=optional_str(body, "correlationid"),
        callback_data=optional_str(body, "callbackData"),
        notify_url=notify_url(body),
        notify_auth_id=notify_auth_id(body),
        expires_at=expiry(body, now=ctx.engine.clock()),
        links=link_options(ctx, body, message, "message.parameters" if template else _WA_PATH),
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
    return response


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
                f"{path}: exactly one of 'waid', 'bsuid' and 'customerid' is mandatory",
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
            elif kind == "bsuid":
                found.append(Destination(bsuid(given, at), None, correlationid, "bsuid", at))
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


async def _template_message(
    ctx: Context, app: dict[str, Any], message: Any, channels: Any
) -> OutboundMessage:
    """`message` bound to its registry template; every check fails here, before the outbox."""
    if not isinstance(message, dict):
        raise ApiError(SYNC.INVALID_VALUE, "message must be an object", field="message")
    unknown = sorted(set(message) - set(_MESSAGE_KEYS))
    if unknown:
        field = f"message.{unknown[0]}"
        raise ApiError(SYNC.INVALID_VALUE, f"{field} is not a field of message", field=field)
    template_id = message.get("template")
    if template_id is None:
        raise ApiError(
            SYNC.MANDATORY_MISSING, "param 'message.template' missing", field="message.template"
        )
    if isinstance(template_id, int) and not isinstance(template_id, bool):
        template_id = str(template_id)
    if not isinstance(template_id, str) or not template_id.strip():
        raise ApiError(
            SYNC.INVALID_VALUE,
            "message.template must be the template's id",
            field="message.template",
        )
    envelope = _template_envelope(channels)
    row = await find_by_id(ctx.db, app, template_id)
    if row is None:
        raise TemplateError(
            SYNC.INVALID_TEMPLATE_ID,
            f"message.template {template_id} is not a template of app {app['id']}",
            field="message.template",
        )
    definition = definition_of(row)
    refuse_unsendable(definition, "message.template")
    try:
        return bind_webex(definition, message.get("parameters"), envelope=envelope)
    except InvalidMessage as exc:
        raise TemplateError.from_invalid(exc, "message.parameters") from exc


def _template_envelope(channels: Any) -> Envelope:
    """A template send's `channels.OTT-Messaging.wa`: absent, or `identity_key_hash` alone."""
    if channels is None:
        return Envelope()
    if not isinstance(channels, dict):
        raise ApiError(SYNC.INVALID_VALUE, "channels must be an object", field="channels")
    ott = channels.get("OTT-Messaging")
    if ott is None:
        return Envelope()
    if not isinstance(ott, dict):
        field = "channels.OTT-Messaging"
        raise ApiError(SYNC.INVALID_VALUE, f"{field} must be an object", field=field)
    wa = ott.get("wa")
    if wa is None:
        return Envelope()
    if not isinstance(wa, dict):
        raise ApiError(SYNC.INVALID_VALUE, f"{_WA_PATH} must be an object", field=_WA_PATH)
    extra = sorted(set(wa) - {"identity_key_hash"})
    if extra:
        field = f"{_WA_PATH}.{extra[0]}"
        raise ApiError(
            SYNC.INVALID_VALUE,
            f"{field}: with a template ('message'), {_WA_PATH} takes only identity_key_hash",
            field=field,
        )
    key_hash = wa.get("identity_key_hash")
    field = f"{_WA_PATH}.identity_key_hash"
    if key_hash is not None and (not isinstance(key_hash, str) or not key_hash.strip()):
        raise ApiError(SYNC.INVALID_VALUE, f"{field} must be a non-empty string", field=field)
    return Envelope(identity_key_hash=key_hash)
