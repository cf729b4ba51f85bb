"""The handset simulator (issue 15, page 8): the in-process sandbox's simulated customers, and a
phone-shaped chat per customer.

Everything goes through the sandbox's control panel (`sandbox_client`); the conversation is
drawn by `chat`. New messages and ticks reach the open page over server-sent events, driven by
the sandbox's event hook (`Sandbox.events`): the feed subscribes to the handset, draws the
chat, then waits for the next notice (inbox entry added, status or settings changed) and sends
each bubble whose drawing changed (`event: bubble`, its HTML) and the handset's settings when
they change (`event: handset`); a quiet feed gets a keep-alive comment every `KEEP_ALIVE`
seconds. The page's script upserts bubbles by id, so a reconnect that sends everything again
changes nothing on screen. A feed lasts until the browser leaves or the server stops (uvicorn
ends open streams a few seconds into its shutdown: `wanode.cli.main.bounded_config`).

What a key sees: an admin key, every sandbox number's conversations; an app's key, its own
app's number's only (the API's rule, `Caller.may_act_on`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from wanode.api.context import Context
from wanode.console import simulator_actions
from wanode.console.chat import Bubble
from wanode.console.handsets import EMOJI, WA_ID, customers, load_chat, visible_numbers
from wanode.console.render import ENV, page
from wanode.console.sandbox_client import SandboxClient, client
from wanode.console.session import ConsoleSession, require_session

router = APIRouter(prefix="/console", include_in_schema=False)

# A comment on a quiet feed this often keeps proxies from closing it.
KEEP_ALIVE = 15.0
# The customers list shows at most this many, newest first.
LISTED = 100
SAMPLES = (
    ("photo.jpg", "Photo (JPEG)"),
    ("logo.png", "Logo (PNG)"),
    ("sticker.webp", "Sticker (WebP)"),
    ("invoice.pdf", "Invoice (PDF)"),
    ("voice.ogg", "Voice note (OGG)"),
)


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def bubble_html(bubble: Bubble, *, wa_id: str, csrf: str) -> str:
    return ENV.get_template("sim_bubble.html").render(b=bubble, wa_id=wa_id, csrf=csrf, emoji=EMOJI)


def _no_sandbox(request: Request, session: ConsoleSession) -> Response:
    return page(request, session, "sim_unavailable.html", status_code=200)


@router.get("/simulator")
async def customer_list(
    request: Request, session: ConsoleSession = Depends(require_session)
) -> Response:
    ctx = _ctx(request)
    sandbox = client(ctx)
    if sandbox is None:
        return _no_sandbox(request, session)
    numbers = await visible_numbers(ctx, sandbox, session.caller)
    rows = await customers(sandbox, session.caller, numbers, limit=LISTED)
    return page(
        request,
        session,
        "sim_list.html",
        handsets=rows,
        numbers=numbers,
        error=request.query_params.get("error"),
    )


@router.get("/simulator/{wa_id}")
async def handset_page(
    request: Request, wa_id: str, session: ConsoleSession = Depends(require_session)
) -> Response:
    ctx = _ctx(request)
    sandbox = client(ctx)
    if sandbox is None:
        return _no_sandbox(request, session)
    if not WA_ID.fullmatch(wa_id):
        return page(request, session, "sim_unavailable.html", bad_wa_id=wa_id, status_code=404)
    bubbles, numbers, handset = await load_chat(ctx, sandbox, session.caller, wa_id)
    reply_to = request.query_params.get("reply_to")
    quoted = next((b for b in bubbles if b.id == reply_to), None)
    last = next((b.phone_number_id for b in reversed(bubbles)), None)
    return page(
        request,
        session,
        "simulator.html",
        wa_id=wa_id,
        handset=handset,
        bubbles=bubbles,
        numbers=numbers,
        current_number=last or (numbers[0]["phone_number_id"] if numbers else None),
        quoted=quoted,
        samples=SAMPLES,
        emoji=EMOJI,
        error=request.query_params.get("error"),
    )


@router.get("/simulator/{wa_id}/events")
async def events(
    request: Request, wa_id: str, session: ConsoleSession = Depends(require_session)
) -> Response:
    """The live feed of the handset's chat (see the module docstring)."""
    ctx = _ctx(request)
    sandbox = client(ctx)
    if sandbox is None or not WA_ID.fullmatch(wa_id):
        return Response(status_code=404)
    return StreamingResponse(
        _feed(request, ctx, sandbox, session, wa_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _feed(
    request: Request, ctx: Context, sandbox: SandboxClient, session: ConsoleSession, wa_id: str
) -> AsyncIterator[str]:
    drawn: dict[str, str] = {}
    settings: str | None = None
    # Subscribed before the first drawing, so nothing that happens meanwhile is missed.
    async with sandbox.subscribe(wa_id) as subscription:
        yield "retry: 1000\n\n"
        while True:
            bubbles, _numbers, handset = await load_chat(ctx, sandbox, session.caller, wa_id)
            for bubble in bubbles:
                fingerprint = bubble.fingerprint()
                if drawn.get(bubble.id) == fingerprint:
                    continue
                drawn[bubble.id] = fingerprint
                html = bubble_html(bubble, wa_id=wa_id, csrf=session.csrf)
                yield _event("bubble", {"id": bubble.dom_id, "fp": fingerprint, "html": html})
            shown = json.dumps(handset, sort_keys=True) if handset is not None else None
            if shown != settings and handset is not None:
                settings = shown
                yield _event("handset", handset)
            while True:
                try:
                    notice = await asyncio.wait_for(subscription.get(), KEEP_ALIVE)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                if notice is None:  # the sandbox is closing
                    return
                # One drawing for a burst of notices: the chat is read again whole.
                subscription.pending()
                break


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/simulator/{wa_id}/media/{wamid}")
async def media(
    request: Request, wa_id: str, wamid: str, session: ConsoleSession = Depends(require_session)
) -> Response:
    """The picture or file of a message of the chat, fetched from the sandbox with the
    business number's token: what a business sent, as the handset's WhatsApp would download
    it; what the handset sent, as the business would (the sandbox stores it for the number)."""
    ctx = _ctx(request)
    sandbox = client(ctx)
    if sandbox is None or not WA_ID.fullmatch(wa_id):
        return Response(status_code=404)
    numbers = {n["phone_number_id"] for n in await visible_numbers(ctx, sandbox, session.caller)}
    inbox, sent = await asyncio.gather(sandbox.inbox(wa_id), sandbox.sent(wa_id))
    for entry in [*inbox, *sent]:
        if entry["id"] != wamid or entry["phone_number_id"] not in numbers:
            continue
        # What a business sent carries its payload; what the handset sent, its media id.
        body = (entry.get("payload") or {}).get(entry["type"])
        media_id = body.get("id") if isinstance(body, dict) else entry.get("media_id")
        if not isinstance(media_id, str):
            break
        found = await sandbox.attachment(media_id, entry["phone_number_id"])
        if found is None:
            break
        data, mime_type = found
        return Response(
            data,
            media_type=mime_type,
            headers={
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, max-age=3600",
            },
        )
    return Response(status_code=404)


router.include_router(simulator_actions.router)
