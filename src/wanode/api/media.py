"""Media: `POST /v1/media` uploads a file to WhatsApp for an app, to send it by `id`;
`GET /v1/media/{media_id}` serves a file a customer sent, once wanode has downloaded it.

The answers of `GET /v1/media/{media_id}`:

- 200: the bytes, with the MIME type WhatsApp gave. Images, audio and video are `inline`,
  anything else an `attachment` (with a document's file name). The bytes of a media id never
  change, so they may be cached for good.
- 404 (7600): no inbound message carried this media id.
- 409 (7701, Media download error) with `Retry-After`: the download has not finished yet;
  ask again shortly. Inbound events name the media as soon as the message arrives.
- 409 (7701) without `Retry-After`: the download failed for good; the message says why (too
  large, a SHA-256 mismatch, WhatsApp refused it...).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from wanode.api.auth import own_app, require_key
from wanode.api.context import Caller, Context, context
from wanode.api.errors import WHATSAPP_ANSWERS, ApiError, error_body
from wanode.codes import DR_CODES, SYNC
from wanode.engine.media import upload
from wanode.engine.submit import UnknownApp
from wanode.gateway import GatewayError, MediaRejected
from wanode.notify.media_links import valid
from wanode.store import apps as app_queries
from wanode.store import contacts as contact_queries
from wanode.store import media as media_queries

log = structlog.get_logger(__name__)

# Each route asks for its key: a media file's signed link (inbound events) stands in for one.
router = APIRouter()

_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["appid", "file"],
                    "properties": {
                        "appid": {"type": "string"},
                        "file": {"type": "string", "format": "binary"},
                        "type": {
                            "type": "string",
                            "description": "MIME type; defaults to the file part's type",
                        },
                    },
                }
            }
        },
    }
}


@router.post("/v1/media", status_code=201, openapi_extra=_FORM, responses=WHATSAPP_ANSWERS)
async def upload_media(
    request: Request, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    """Upload media (multipart: `appid`, `file`, optional `type`); answers the WhatsApp media id,
    to send with `{"type": "image", "image": {"id": …}}` and the like."""
    try:
        form = await request.form()
    except (MultiPartException, AssertionError) as exc:
        raise ApiError(SYNC.INVALID_VALUE, f"the body must be multipart/form-data ({exc})") from exc
    app_id, file = form.get("appid"), form.get("file")
    if not isinstance(app_id, str) or not app_id:
        raise ApiError(SYNC.MANDATORY_MISSING, "param 'appid' missing", field="appid")
    own_app(caller, app_id)
    if not isinstance(file, UploadFile):
        raise ApiError(SYNC.MANDATORY_MISSING, "param 'file' (a file part) missing", field="file")
    given = form.get("type")
    mime_type = given if isinstance(given, str) and given else file.content_type
    if not mime_type:
        raise ApiError(SYNC.MANDATORY_MISSING, "the file's MIME type is unknown", field="type")
    data = await file.read()
    try:
        media_id = await upload(
            ctx.db, ctx.engine.gateways, app_id, data, mime_type, file.filename or "upload"
        )
    except UnknownApp as exc:
        raise ApiError(SYNC.INVALID_APP_ID, field="appid") from exc
    except MediaRejected as exc:
        rejected = exc.rejected
        raise ApiError(
            SYNC.INVALID_VALUE,
            f"WhatsApp refused the file: ({rejected.code}) {rejected.title}: {rejected.details}",
            field="file",
        ) from exc
    except (GatewayError, LookupError) as exc:
        raise ApiError(
            SYNC.INTERNAL_ERROR, f"WhatsApp could not be reached: {exc}", http_status=502
        ) from exc
    return {"id": media_id, "appid": app_id, "mime_type": mime_type, "size": len(data)}


_DOWNLOAD_ERROR = DR_CODES["7701"]
_INLINE = ("image/", "audio/", "video/")
_MEDIA_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file's bytes", "content": {"application/octet-stream": {}}},
    404: {"description": "No inbound message carried this media id (7600)"},
    409: {
        "description": "Not downloaded (7701): still downloading when `Retry-After` is set, "
        "else failed for good, the message saying why"
    },
}


async def _key_unless_signed(request: Request, ctx: Context = Depends(context)) -> Caller | None:
    """The caller of a request with an API key; None for a signed link, checked once the media
    (and so its app) is known."""
    if "token" in request.query_params and not request.headers.get("key"):
        return None
    return await require_key(request, ctx)


@router.get("/v1/media/{media_id}", response_class=Response, responses=_MEDIA_RESPONSES)
async def get_media(
    media_id: str,
    request: Request,
    ctx: Context = Depends(context),
    caller: Caller | None = Depends(_key_unless_signed),
) -> Response:
    """The bytes of media a customer sent (the `url` of an inbound event's attachment). Takes
    the API key, or the `expires` and `token` of the signed link an inbound event carries."""
    async with ctx.db.begin() as conn:
        row = await media_queries.get(conn, media_id)
        inbound = await contact_queries.get_inbound(conn, row["wamid"]) if row else None
        app = await app_queries.get_app(conn, row["app_id"]) if row and caller is None else None
    if caller is None:
        _check_link(request, media_id, app, now=ctx.engine.clock())
    if row is None or (caller is not None and not caller.may_act_on(row["app_id"])):
        raise ApiError(SYNC.NOT_FOUND, f"no inbound media {media_id}", field="media_id")
    state = media_queries.state(row)
    if state != media_queries.DOWNLOADED:
        pending = state == media_queries.PENDING
        reason = "not downloaded yet; retry shortly" if pending else f"failed: {row['error']}"
        return JSONResponse(
            error_body(
                request,
                _DOWNLOAD_ERROR.code,
                f"{_DOWNLOAD_ERROR.description}: media {media_id} {reason}",
                "media_id",
            ),
            status_code=409,
            headers={"Retry-After": "1"} if pending else None,
        )
    path = await asyncio.to_thread(_file, Path(ctx.settings.media_dir), row["path"])
    if path is None:
        log.warning("inbound_media_file_missing", media_id=media_id, path=row["path"])
        raise ApiError(SYNC.NOT_FOUND, f"the file of media {media_id} is gone", field="media_id")
    mime_type = row["mime_type"] or "application/octet-stream"
    disposition = "inline" if mime_type.startswith(_INLINE) else "attachment"
    filename = _filename(inbound)
    headers = {
        "Cache-Control": "private, max-age=31536000, immutable",
        # Customers choose these bytes: never let a browser run them as a page of ours.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if filename is None:
        headers["Content-Disposition"] = disposition
    return FileResponse(
        path,
        media_type=mime_type,
        filename=filename,
        content_disposition_type=disposition,
        headers=headers,
    )


def _check_link(request: Request, media_id: str, app: dict[str, Any] | None, *, now: float) -> None:
    """7001 unless the link's token is the media's, for its app, and not expired. An unknown
    media id fails the same way: a link reveals nothing without its token."""
    params = request.query_params
    expires, token = params.get("expires", ""), params.get("token", "")
    if app is None or not valid(media_id, expires, token, app["app_secret"], now=now):
        raise ApiError(SYNC.AUTH_FAILED, "the media link is invalid or has expired", field="token")


def _file(media_dir: Path, relative: str) -> Path | None:
    """The downloaded file, if it is still there (and inside the media directory)."""
    root = media_dir.resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def _filename(inbound: dict[str, Any] | None) -> str | None:
    """A document's file name, from the message that carried it."""
    if inbound is None:
        return None
    media = inbound["payload"].get(inbound["kind"])
    name = media.get("filename") if isinstance(media, dict) else None
    return name if isinstance(name, str) and name else None
