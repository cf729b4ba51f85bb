"""`GET/POST /webhooks/whatsapp`: the WhatsApp webhook receiver (cloud-api.md §4)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from wanode.api.context import Context, context
from wanode.events import MalformedWebhook, parse_webhook
from wanode.notify.media_links import media_links
from wanode.store import apps as app_queries

router = APIRouter()
log = structlog.get_logger(__name__)


@router.get("/webhooks/whatsapp")
async def verify(request: Request, ctx: Context = Depends(context)) -> PlainTextResponse:
    params = request.query_params
    token = params.get("hub.verify_token", "")
    async with ctx.db.begin() as conn:
        apps = await app_queries.list_apps(conn)
    known = any(_same(token, app["verify_token"]) for app in apps)
    if params.get("hub.mode") == "subscribe" and token and known:
        return PlainTextResponse(params.get("hub.challenge", ""))
    return PlainTextResponse("verification failed", status_code=403)


@router.post("/webhooks/whatsapp")
async def receive(request: Request, ctx: Context = Depends(context)) -> JSONResponse:
    status, content = await accept(
        ctx, await request.body(), request.headers.get("x-hub-signature-256", "")
    )
    return JSONResponse(content, status_code=status)


async def accept(ctx: Context, raw: bytes, signature: str) -> tuple[int, dict[str, Any]]:
    """A webhook POST's body and `X-Hub-Signature-256` header, checked and stored; the answer's
    status and body. The route and the hot path (`api.fast`) both answer with this."""
    # Verify on the exact bytes before parsing anything; an app's secret signs its numbers.
    apps = ctx.all_apps.get("")
    signed_by = [app for app in apps or () if _signed(raw, signature, app["app_secret"])]
    if not signed_by:
        # Not in the cache: an app added a moment ago, or a bad signature.
        async with ctx.db.begin() as conn:
            apps = await app_queries.list_apps(conn)
        ctx.all_apps.put("", apps)
        signed_by = [app for app in apps if _signed(raw, signature, app["app_secret"])]
    if not signed_by:
        log.warning("webhook_bad_signature", has_signature=bool(signature))
        return 401, {"error": "invalid signature"}
    try:
        events = parse_webhook(orjson.loads(raw))
    except (orjson.JSONDecodeError, MalformedWebhook) as exc:
        log.warning("webhook_malformed", reason=str(exc))
        return 400, {"error": "malformed webhook"}
    by_number: dict[str, dict[str, Any]] = {app["phone_number_id"]: app for app in signed_by}
    # Answered once committed: statuses alone with other webhooks' (group commit), anything
    # else in a transaction of its own. A failed write raises: 500, and Meta retries.
    ingested = await ctx.inbound.ingest(
        events, apps=by_number, now=ctx.engine.clock(), media_links=media_links(ctx.settings)
    )
    if ingested.loops:
        # After the commit, only the loops given work: a status wakes the status loop alone.
        ctx.engine.wake(*sorted(ingested.loops))
    return 200, {"received": ingested.stored}


def _signed(raw: bytes, header: str, secret: str) -> bool:
    if not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return _same(header[len("sha256=") :], expected)


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison that takes any text: `compare_digest` raises TypeError on a
    non-ASCII str, and a query string or header may carry anything."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
