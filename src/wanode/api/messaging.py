"""`POST /resources/v1/messaging`: the Webex-compatible Messaging API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from wanode.api.auth import require_key
from wanode.api.context import Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.messages import InvalidMessage, OutboundMessage, parse_wa, render_payload
from wanode.notify.urls import InvalidNotifyUrl, validate_notify_url
from wanode.store import apps as app_queries
from wanode.store import messages as outbox

router = APIRouter()

MAX_DESTINATIONS = 1000
_WA_PATH = "channels.OTT-Messaging.wa"
_DESTINATION_KEYS = ("waid",)


@dataclass(frozen=True)
class Destination:
    wa_id: str
    given: str
    correlationid: str | None


@router.post("/resources/v1/messaging", dependencies=[Depends(require_key)])
async def send_messages(request: Request, ctx: Context = Depends(context)) -> JSONResponse:
    body = _json_object(await request.body())
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
    destinations = _destinations(body["destination"])
    message = _message(body["channels"])
    correlationid = _optional_str(body, "correlationid")
    callback_data = _optional_str(body, "callbackData")
    notify_url = _notify_url(body)
    expires_at = _expiry(body)
    identity_key_hash = message.envelope.identity_key_hash
    if not isinstance(body["appid"], str):
        raise ApiError(SYNC.INVALID_VALUE, "appid must be a string", field="appid")

    now = ctx.engine.clock()
    rows: list[dict[str, Any]] = []
    async with ctx.db.begin() as conn:
        app = await app_queries.get_app(conn, body["appid"])
        if app is None:
            raise ApiError(SYNC.INVALID_APP_ID, field="appid")
        for dest in destinations:
            rows.append(
                {
                    "transid": str(uuid.uuid4()),
                    "app_id": app["id"],
                    "wa_id": dest.wa_id,
                    "destination": dest.given,
                    "destination_type": "waid",
                    "kind": message.kind,
                    "payload": render_payload(message, dest.wa_id),
                    "correlationid": dest.correlationid or correlationid,
                    "callback_data": callback_data,
                    "notify_url": notify_url or app["notify_url"],
                    "identity_key_hash": identity_key_hash,
                    "expires_at": expires_at,
                }
            )
        await outbox.enqueue(conn, rows, now)
    ctx.engine.wake("dispatch")
    response = []
    for row in rows:
        item = {"code": SYNC.QUEUED, "transid": row["transid"], "description": "Queued"}
        if row["correlationid"]:
            item["correlationid"] = row["correlationid"]
        response.append(item)
    return JSONResponse({"response": response})


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(SYNC.INVALID_JSON, f"the body is not valid JSON ({exc.msg})") from exc
    if not isinstance(body, dict):
        raise ApiError(SYNC.INVALID_JSON, "the body must be a JSON object")
    return body


def _destinations(value: Any) -> list[Destination]:
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
        if not keys:
            raise ApiError(
                SYNC.MANDATORY_MISSING, f"{path}: 'waid' is mandatory", field=f"{path}.waid"
            )
        unknown = sorted(set(entry) - {*_DESTINATION_KEYS, "correlationid"})
        if unknown:
            raise ApiError(
                SYNC.INVALID_VALUE,
                f"{path}.{unknown[0]} is not a supported destination field",
                field=f"{path}.{unknown[0]}",
            )
        numbers = entry["waid"]
        if not isinstance(numbers, list) or not numbers:
            raise ApiError(
                SYNC.INVALID_VALUE,
                f"{path}.waid must be a non-empty array of numbers",
                field=f"{path}.waid",
            )
        correlationid = entry.get("correlationid")
        if correlationid is not None and not isinstance(correlationid, str):
            raise ApiError(
                SYNC.INVALID_VALUE,
                f"{path}.correlationid must be a string",
                field=f"{path}.correlationid",
            )
        for j, number in enumerate(numbers):
            found.append(Destination(_wa_id(number, f"{path}.waid[{j}]"), number, correlationid))
            if len(found) > MAX_DESTINATIONS:
                raise ApiError(SYNC.TOO_MANY_DESTINATIONS, field="destination")
    return found


def _wa_id(number: Any, path: str) -> str:
    if not isinstance(number, str):
        raise ApiError(SYNC.INVALID_VALUE, f"{path} must be a string", field=path)
    digits = "".join(ch for ch in number if ch.isdigit())
    stripped = number.strip().lstrip("+")
    if any(not (ch.isdigit() or ch in " -()") for ch in stripped) or not 7 <= len(digits) <= 15:
        raise ApiError(
            SYNC.INVALID_VALUE,
            f"{path} {number!r} is not a phone number with country code (7 to 15 digits)",
            field=path,
        )
    return digits


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


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(SYNC.INVALID_VALUE, f"{name} must be a string", field=name)
    return value or None


def _notify_url(body: dict[str, Any]) -> str | None:
    value = _optional_str(body, "notifyurl")
    if value is None:
        return None
    try:
        url = validate_notify_url(value)
    except InvalidNotifyUrl as exc:
        raise ApiError(SYNC.INVALID_VALUE, exc.message, field="notifyurl") from exc
    if url.startswith("$("):
        raise ApiError(
            SYNC.INVALID_VALUE,
            "notifyurl variables are resolved by flows; the Messaging API needs a URL",
            field="notifyurl",
        )
    return url


def _expiry(body: dict[str, Any]) -> float | None:
    value = _optional_str(body, "expiry")
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(
            SYNC.INVALID_VALUE, "expiry must be an ISO 8601 UTC time", field="expiry"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
