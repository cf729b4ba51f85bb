"""What the simulated customer does, from the simulator's forms: create a customer, write, send
a picture, a location or a contact card, react, reply in context, tap a button, pick a list
row, tap a template's quick reply, change the handset's settings or identity.

Each is a plain HTML form post (CSRF-checked) answered with a redirect back to the chat, so it
works without script; the page's script posts the same forms with `X-Requested-With: fetch`
and gets JSON instead (`{"id"}` or `{"error"}`), leaving the live feed to draw the result.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from wanode.api.context import Context
from wanode.console.handsets import WA_ID, load_chat, visible_numbers
from wanode.console.sandbox_client import SandboxClient, SandboxRefused, client
from wanode.console.session import ConsoleSession, csrf_checked

router = APIRouter()

MAX_UPLOAD = 16 * 1024 * 1024


class Refused(Exception):
    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _answer(request: Request, wa_id: str, result: dict[str, Any] | Refused) -> Response:
    fetched = request.headers.get("x-requested-with") == "fetch"
    target = f"/console/simulator/{wa_id}"
    if isinstance(result, Refused):
        if fetched:
            return JSONResponse({"error": result.detail}, status_code=result.status)
        return RedirectResponse(f"{target}?error={quote(result.detail)}", status_code=303)
    if fetched:
        return JSONResponse(result)
    return RedirectResponse(target, status_code=303)


async def _prepare(request: Request, wa_id: str) -> tuple[Context, SandboxClient, FormData]:
    ctx = _ctx(request)
    sandbox = client(ctx)
    if sandbox is None:
        raise Refused("this service runs without the in-process sandbox", 404)
    if not WA_ID.fullmatch(wa_id):
        raise Refused(f"{wa_id!r} is not a WhatsApp id (digits, country code first)", 404)
    return ctx, sandbox, await request.form()


async def _number(
    ctx: Context, sandbox: SandboxClient, session: ConsoleSession, form: FormData
) -> str:
    """The business number the customer writes to: one the key may act for."""
    wanted = _text(form, "phone_number_id")
    numbers = await visible_numbers(ctx, sandbox, session.caller)
    if not any(number["phone_number_id"] == wanted for number in numbers):
        raise Refused("phone_number_id: choose a business number this key may act for")
    return wanted


async def _message(
    ctx: Context, sandbox: SandboxClient, session: ConsoleSession, wa_id: str, form: FormData
) -> str:
    """The business number of the message the customer acts on, if the key may see it."""
    message_id = _text(form, "message_id")
    bubbles, _numbers, _handset = await load_chat(ctx, sandbox, session.caller, wa_id)
    for bubble in bubbles:
        if bubble.id == message_id:
            return bubble.phone_number_id
    raise Refused("message_id: that message is not in this chat")


async def _act(
    request: Request, wa_id: str, session: ConsoleSession, action: str
) -> dict[str, Any]:
    ctx, sandbox, form = await _prepare(request, wa_id)
    reply_to = _text(form, "reply_to") or None
    body: dict[str, Any]
    if action in ("send", "send-media", "send-location", "send-contacts"):
        body = {"phone_number_id": await _number(ctx, sandbox, session, form)}
        if reply_to is not None:
            body["reply_to"] = reply_to
        body.update(await _content(action, form))
    else:
        message_id = _text(form, "message_id")
        phone_number_id = await _message(ctx, sandbox, session, wa_id, form)
        body = {"message_id": message_id, "phone_number_id": phone_number_id}
        if action == "react":
            body["emoji"] = _text(form, "emoji")
        elif action in ("tap-button", "pick-row"):
            body["id"] = _text(form, "id")
        else:
            try:
                body["index"] = int(_text(form, "index"))
            except ValueError as exc:
                raise Refused("index: a button position") from exc
    return await sandbox.act(wa_id, action, body)


async def _content(action: str, form: FormData) -> dict[str, Any]:
    """The action body's own fields, from the form."""
    if action == "send":
        return {"text": _text(form, "text")}
    if action == "send-location":
        try:
            latitude, longitude = float(_text(form, "latitude")), float(_text(form, "longitude"))
        except ValueError as exc:
            raise Refused("latitude and longitude: numbers, e.g. 38.7223 and -9.1393") from exc
        place: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        for name in ("name", "address"):
            if _text(form, name):
                place[name] = _text(form, name)
        return place
    if action == "send-contacts":
        name, phone = _text(form, "contact_name"), _text(form, "contact_phone")
        if not name or not phone:
            raise Refused("contact: a name and a phone number")
        first = name.split()[0]
        card = {
            "name": {"formatted_name": name, "first_name": first},
            "phones": [{"phone": phone, "type": "CELL"}],
        }
        return {"contacts": [card]}
    caption = _text(form, "caption")
    media: dict[str, Any] = {"caption": caption} if caption else {}
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise Refused("file: at most 16 MB")
        mime_type = (upload.content_type or "application/octet-stream").split(";")[0]
        media.update(data=base64.b64encode(data).decode(), mime_type=mime_type)
        media["filename"] = upload.filename
    else:
        sample = _text(form, "sample")
        if not sample:
            raise Refused("choose a sample or a file to send")
        media["sample"] = sample
    return media


def _action_route(action: str) -> None:
    async def endpoint(
        request: Request, wa_id: str, session: ConsoleSession = Depends(csrf_checked)
    ) -> Response:
        try:
            result: dict[str, Any] | Refused = await _act(request, wa_id, session, action)
        except Refused as exc:
            result = exc
        except SandboxRefused as exc:
            result = Refused(exc.detail, exc.status)
        return _answer(request, wa_id, result)

    endpoint.__name__ = "simulator_" + action.replace("-", "_")
    router.add_api_route(f"/simulator/{{wa_id}}/{action}", endpoint, methods=["POST"])


for _action in (
    "send",
    "send-media",
    "send-location",
    "send-contacts",
    "react",
    "tap-button",
    "pick-row",
    "tap-quick-reply",
):
    _action_route(_action)


@router.post("/simulator/{wa_id}/settings")
async def settings(
    request: Request, wa_id: str, session: ConsoleSession = Depends(csrf_checked)
) -> Response:
    """The handset's switches (read receipts, online, on WhatsApp) and profile name."""
    try:
        _, sandbox, form = await _prepare(request, wa_id)
        changes: dict[str, Any] = {
            name: form.get(name) == "on" for name in ("reads", "online", "exists")
        }
        if _text(form, "name"):
            changes["name"] = _text(form, "name")
        result: dict[str, Any] | Refused = await sandbox.configure(wa_id, changes)
    except Refused as exc:
        result = exc
    except SandboxRefused as exc:
        result = Refused(exc.detail, exc.status)
    return _answer(request, wa_id, result)


@router.post("/simulator/{wa_id}/identity")
async def identity(
    request: Request, wa_id: str, session: ConsoleSession = Depends(csrf_checked)
) -> Response:
    """A new identity key hash, as a reinstall or a new phone would give the customer."""
    try:
        _, sandbox, _form = await _prepare(request, wa_id)
        result: dict[str, Any] | Refused = {
            "identity_key_hash": await sandbox.rotate_identity(wa_id)
        }
    except Refused as exc:
        result = exc
    except SandboxRefused as exc:
        result = Refused(exc.detail, exc.status)
    return _answer(request, wa_id, result)


@router.post("/simulator")
async def create_customer(
    request: Request, session: ConsoleSession = Depends(csrf_checked)
) -> Response:
    """A new simulated customer: a WhatsApp id and a profile name."""
    form = await request.form()
    wa_id = "".join(ch for ch in _text(form, "wa_id") if ch.isdigit())
    name = _text(form, "name")
    sandbox = client(_ctx(request))
    if sandbox is None:
        return RedirectResponse("/console/simulator", status_code=303)
    if not WA_ID.fullmatch(wa_id):
        detail = "wa_id: digits only, country code first (6 to 20 digits)"
        return RedirectResponse(f"/console/simulator?error={quote(detail)}", status_code=303)
    try:
        await sandbox.configure(wa_id, {"name": name} if name else {})
    except SandboxRefused as exc:
        return RedirectResponse(f"/console/simulator?error={quote(exc.detail)}", status_code=303)
    return RedirectResponse(f"/console/simulator/{wa_id}", status_code=303)
