"""`/v1/entry-points`: links that open a WhatsApp chat with an app's number, with a message
already typed, and their QR codes (spec §5, cloud-api.md §10).

Each entry point is a short link WhatsApp makes (`https://wa.me/message/<code>`, the
`deepLink`, which the QR code encodes) plus the plain click-to-chat link
(`https://wa.me/<number>?text=...`, the `link`), both opening the chat with `prefilledMessage`
typed. `format` (PNG or SVG) also asks WhatsApp for its own QR image (`qrImageUrl`, in the
creation answer only); wanode renders its own at `qr.png` and `qr.svg` whatever the format.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from wanode.api._time import iso
from wanode.api.auth import own_app, require_key, scope
from wanode.api.context import Caller, Context, context
from wanode.api.errors import WHATSAPP_ANSWERS, WHATSAPP_ANSWERS_NO_BODY, ApiError
from wanode.codes import SYNC
from wanode.engine import entry_points as use_cases
from wanode.engine.submit import UnknownApp
from wanode.entry_points import IMAGE_FORMATS, MAX_PREFILLED, MEDIA_TYPES, click_to_chat, qr_image
from wanode.gateway import GatewayError, RequestRejected
from wanode.store import apps as app_queries
from wanode.store import entry_points as queries

router = APIRouter(dependencies=[Depends(require_key)])

# A code's deep link never changes, but a deleted code should stop being served before long.
_IMAGE_CACHE = "private, max-age=86400"


class EntryPointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    appid: str
    prefilledMessage: str = Field(
        min_length=1,
        max_length=MAX_PREFILLED,
        description=f"The message typed for the user, at most {MAX_PREFILLED} characters.",
    )
    format: str | None = Field(
        default=None, description="PNG or SVG: also have WhatsApp make a QR image of that format."
    )

    @field_validator("format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.upper() not in IMAGE_FORMATS:
            raise ValueError(f"must be one of {', '.join(IMAGE_FORMATS)}")
        return value.upper()


def public(row: dict[str, Any], app: dict[str, Any]) -> dict[str, Any]:
    base = f"/v1/entry-points/{row['code']}"
    return {
        "code": row["code"],
        "appid": row["app_id"],
        "prefilledMessage": row["prefilled_message"],
        "deepLink": row["link"],
        "link": click_to_chat(app["display_phone_number"], row["prefilled_message"]),
        "qr": {"png": f"{base}/qr.png", "svg": f"{base}/qr.svg"},
        "created_at": iso(row["created_at"]),
    }


@router.post("/v1/entry-points", status_code=201, responses=WHATSAPP_ANSWERS)
async def create_entry_point(
    body: EntryPointIn,
    response: Response,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """Have WhatsApp make a short link (and QR code) opening a chat with the app's number."""
    own_app(caller, body.appid)
    try:
        row, app, created = await use_cases.create(
            ctx.db,
            ctx.engine.gateways,
            body.appid,
            body.prefilledMessage,
            image_format=body.format,
            now=ctx.engine.clock(),
        )
    except UnknownApp as exc:
        raise ApiError(SYNC.INVALID_APP_ID, field="appid") from exc
    except RequestRejected as exc:
        raise _refused(exc, "prefilledMessage") from exc
    except (GatewayError, LookupError) as exc:
        raise _unreachable(exc) from exc
    response.headers["Location"] = f"/v1/entry-points/{row['code']}"
    answer = public(row, app)
    if isinstance(created.get("qr_image_url"), str):
        answer["qrImageUrl"] = created["qr_image_url"]
    return answer


@router.get("/v1/entry-points")
async def list_entry_points(
    ctx: Context = Depends(context),
    appid: str | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """The newest entry points first; `appid` narrows them to one app (an app's API key sees
    its own app's only)."""
    async with ctx.db.begin() as conn:
        rows = await queries.list_all(conn, app_id=scope(caller, appid), limit=limit)
        apps = {app["id"]: app for app in await app_queries.list_apps(conn)}
    return {"entryPoints": [public(row, apps[row["app_id"]]) for row in rows]}


@router.get("/v1/entry-points/{code}")
async def get_entry_point(
    code: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    row, app = await _load(ctx, code, caller)
    return public(row, app)


@router.delete("/v1/entry-points/{code}", status_code=204, responses=WHATSAPP_ANSWERS_NO_BODY)
async def delete_entry_point(
    code: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> Response:
    """Delete the short link at WhatsApp too: the link and its QR codes stop working."""
    await _load(ctx, code, caller)
    try:
        await use_cases.delete(ctx.db, ctx.engine.gateways, code)
    except use_cases.UnknownEntryPoint as exc:
        raise _not_found(code) from exc
    except RequestRejected as exc:
        raise _refused(exc, "code") from exc
    except (GatewayError, LookupError) as exc:
        raise _unreachable(exc) from exc
    return Response(status_code=204)


_SCALE = Query(default=10, ge=1, le=40, description="Pixels (SVG units) per QR module.")
_NOT_MODIFIED = {"description": "Not modified: the `If-None-Match` ETag is current"}
_BORDER = Query(default=4, ge=0, le=16, description="Quiet zone, in modules (4 by the standard).")


@router.get(
    "/v1/entry-points/{code}/qr.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The QR code of the deep link"},
        304: _NOT_MODIFIED,
    },
)
async def qr_png(
    code: str,
    request: Request,
    ctx: Context = Depends(context),
    scale: int = _SCALE,
    border: int = _BORDER,
    caller: Caller = Depends(require_key),
) -> Response:
    """The QR code of the entry point's deep link, as PNG."""
    return await _qr(ctx, caller, request, code, "png", scale, border)


@router.get(
    "/v1/entry-points/{code}/qr.svg",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "The QR code of the deep link"},
        304: _NOT_MODIFIED,
    },
)
async def qr_svg(
    code: str,
    request: Request,
    ctx: Context = Depends(context),
    scale: int = _SCALE,
    border: int = _BORDER,
    caller: Caller = Depends(require_key),
) -> Response:
    """The QR code of the entry point's deep link, as SVG."""
    return await _qr(ctx, caller, request, code, "svg", scale, border)


async def _qr(
    ctx: Context, caller: Caller, request: Request, code: str, kind: str, scale: int, border: int
) -> Response:
    row, _app = await _load(ctx, code, caller)
    key = f"{row['link']}\0{kind}\0{scale}\0{border}".encode()
    etag = f'"{hashlib.sha256(key).hexdigest()[:32]}"'
    headers = {"Cache-Control": _IMAGE_CACHE, "ETag": etag}
    if etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    image = qr_image(row["link"], kind, scale=scale, border=border)
    return Response(image, media_type=MEDIA_TYPES[kind], headers=headers)


async def _load(ctx: Context, code: str, caller: Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    async with ctx.db.begin() as conn:
        row = await queries.get(conn, code)
        app = await app_queries.get_app(conn, row["app_id"]) if row else None
    if row is None or app is None or not caller.may_act_on(row["app_id"]):
        raise _not_found(code)
    return row, app


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _not_found(code: str) -> ApiError:
    return ApiError(SYNC.NOT_FOUND, f"no entry point {code}", field="code")


def _refused(exc: RequestRejected, field: str) -> ApiError:
    rejected = exc.rejected
    return ApiError(
        SYNC.INVALID_VALUE,
        f"WhatsApp refused: ({rejected.code}) {rejected.title}: {rejected.details}",
        field=field,
        http_status=502 if rejected.http_status >= 500 else 400,
    )


def _unreachable(exc: Exception) -> ApiError:
    return ApiError(SYNC.INTERNAL_ERROR, f"WhatsApp could not be reached: {exc}", http_status=502)
