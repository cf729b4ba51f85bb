"""The Compose page: send a message of any kind from a form. It sends through the APIs' own
request handling (`api.messages.send_native`, and `api.messaging.send_webex` for templates, whose
parameters are named), so every limit is checked by the same validators, and an error is shown
beside the field it names."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wanode.api.context import Context, context
from wanode.api.errors import ApiError
from wanode.api.messages import send_native
from wanode.api.messaging import send_webex
from wanode.codes import SYNC
from wanode.console.render import page
from wanode.console.session import ConsoleSession, csrf_checked, require_session
from wanode.engine.templates import definition_of
from wanode.messages import InvalidMessage
from wanode.messages.templates.message import slots
from wanode.store import apps as app_queries
from wanode.store import templates as registry

router = APIRouter(prefix="/console", include_in_schema=False)

KINDS = (
    ("text", "Text"),
    ("image", "Image"),
    ("video", "Video"),
    ("audio", "Audio"),
    ("document", "Document"),
    ("sticker", "Sticker"),
    ("location", "Location"),
    ("template", "Template"),
    ("json", "Any kind, as Cloud API JSON (interactive, contacts, reaction, ...)"),
)
MEDIA = ("image", "video", "audio", "document", "sticker")
_FIELDS = (
    "app",
    "to",
    "kind",
    "body",
    "preview_url",
    "link",
    "caption",
    "filename",
    "latitude",
    "longitude",
    "loc_name",
    "address",
    "template",
    "json",
    "correlationid",
    "callbackData",
    "notifyurl",
)
# The leaf of an API field path (`image.caption`) -> the form's field.
_LEAVES = {
    "body": "body",
    "preview_url": "preview_url",
    "link": "link",
    "id": "link",
    "caption": "caption",
    "filename": "filename",
    "latitude": "latitude",
    "longitude": "longitude",
    "name": "loc_name",
    "address": "address",
}
_JSON_EXAMPLE = (
    '{\n  "type": "interactive",\n  "interactive": {\n    "type": "button",\n'
    '    "body": {"text": "Shall we?"},\n    "action": {"buttons": [\n'
    '      {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},\n'
    '      {"type": "reply", "reply": {"id": "no", "title": "No"}}\n    ]}\n  }\n}'
)


async def _apps(ctx: Context, session: ConsoleSession) -> list[dict[str, Any]]:
    async with ctx.db.begin() as conn:
        apps = await app_queries.list_apps(conn)
    return [app for app in apps if session.caller.may_act_on(app["id"])]


async def _templates(ctx: Context, app: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The app's sendable templates, each with its parameters (name, description)."""
    if app is None:
        return []
    async with ctx.db.begin() as conn:
        rows = await registry.list_templates(conn, waba_id=app["waba_id"], statuses=["APPROVED"])
    found = []
    for row in rows:
        if row["synced_at"] is None:
            continue
        try:
            parameters = [
                {"name": slot.name, "description": slot.description}
                for slot in slots(definition_of(row))
            ]
        except InvalidMessage:
            continue
        found.append(
            {
                "id": row["id"],
                "label": f"{row['name']} ({row['language']})",
                "parameters": parameters,
            }
        )
    return found


def _pick_app(apps: list[dict[str, Any]], app_id: str) -> dict[str, Any] | None:
    for app in apps:
        if app["id"] == app_id:
            return app
    return apps[0] if apps else None


async def _form_page(
    request: Request,
    ctx: Context,
    session: ConsoleSession,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    apps = await _apps(ctx, session)
    app = _pick_app(apps, values.get("app", ""))
    if app is not None:
        values["app"] = app["id"]
    templates = await _templates(ctx, app)
    chosen = next((t for t in templates if t["id"] == values.get("template")), None)
    if chosen is None and templates:
        chosen = templates[0]
    return page(
        request,
        session,
        "compose.html",
        apps=apps,
        kinds=KINDS,
        media=MEDIA,
        templates=templates,
        chosen=chosen,
        v=values,
        errors=errors,
        json_example=_JSON_EXAMPLE,
        status_code=status_code,
    )


@router.get("/compose")
async def compose_page(
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(require_session),
) -> HTMLResponse:
    values = {name: request.query_params.get(name, "") for name in _FIELDS}
    values["kind"] = values["kind"] or "text"
    return await _form_page(request, ctx, session, values, {})


@router.get("/compose/template-fields")
async def template_fields(
    request: Request,
    app: str = "",
    template: str = "",
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(require_session),
) -> HTMLResponse:
    """The parameter fields of the chosen template (htmx swaps them into the form)."""
    apps = await _apps(ctx, session)
    templates = await _templates(ctx, _pick_app(apps, app))
    chosen = next((t for t in templates if t["id"] == template), None)
    return page(request, session, "compose_template_fields.html", chosen=chosen, v={}, errors={})


@router.post("/compose")
async def send(
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(csrf_checked),
) -> Response:
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in _FIELDS if name != "body"}
    # A text body is sent as typed: its spaces and new lines are the customer's to see.
    values["body"] = str(form.get("body", ""))
    parameters = {key[2:]: str(value) for key, value in form.multi_items() if key.startswith("p.")}
    values.update({f"p.{k}": v for k, v in parameters.items()})
    errors: dict[str, str] = {}
    kind = values["kind"] or "text"
    try:
        transid = await _send(ctx, session, kind, values, parameters, errors)
    except ApiError as exc:
        errors[_field_of(exc.field, kind) or "form"] = exc.description
        transid = None
    if transid is None:
        return await _form_page(request, ctx, session, values, errors, status_code=400)
    return RedirectResponse(f"/console/messages/{transid}", status_code=303)


async def _send(
    ctx: Context,
    session: ConsoleSession,
    kind: str,
    values: dict[str, str],
    parameters: dict[str, str],
    errors: dict[str, str],
) -> str | None:
    """Queue the form's message; its transid, or None with `errors` filled in."""
    own = {
        key: values[key] for key in ("correlationid", "callbackData", "notifyurl") if values[key]
    }
    if kind == "template":
        if not values["template"]:
            errors["template"] = "pick a template (approved templates of this app are listed)"
            return None
        answer = await send_webex(
            ctx,
            session.caller,
            {
                "appid": values["app"],
                "deliverychannel": "whatsapp",
                "destination": [{"waid": [values["to"]]}],
                "message": {"template": values["template"], "parameters": parameters},
                **own,
            },
        )
        [item] = answer
        if item["code"] != SYNC.QUEUED:
            errors["to"] = item["description"]
            return None
        transid: str = item["transid"]
        return transid
    content = _content(kind, values, errors)
    if content is None:
        return None
    sent = await send_native(
        ctx, session.caller, {"appid": values["app"], "to": values["to"], **own, **content}
    )
    queued: str = sent["transid"]
    return queued


def _content(kind: str, values: dict[str, str], errors: dict[str, str]) -> dict[str, Any] | None:
    """The Cloud API message object the form describes (checked by the API, not here)."""
    if kind == "text":
        text: dict[str, Any] = {"body": values["body"]}
        if values["preview_url"]:
            text["preview_url"] = True
        return {"type": "text", "text": text}
    if kind in MEDIA:
        media = {"link": values["link"]}
        if values["caption"]:
            media["caption"] = values["caption"]
        if values["filename"]:
            media["filename"] = values["filename"]
        return {"type": kind, kind: media}
    if kind == "location":
        location: dict[str, Any] = {
            "latitude": _number(values["latitude"]),
            "longitude": _number(values["longitude"]),
        }
        for key, name in (("loc_name", "name"), ("address", "address")):
            if values[key]:
                location[name] = values[key]
        return {"type": "location", "location": location}
    if kind == "json":
        try:
            content = orjson.loads(values["json"] or "null")
        except orjson.JSONDecodeError as exc:
            errors["json"] = f"this is not JSON: {exc}"
            return None
        if not isinstance(content, dict):
            errors["json"] = 'give a JSON object, as {"type": "text", "text": {"body": "Hi"}}'
            return None
        return content
    errors["kind"] = "pick one of the listed kinds"
    return None


def _number(text: str) -> Any:
    """A number typed in a field; as typed when it is not one (the API then says why)."""
    try:
        return float(text)
    except ValueError:
        return text


def _field_of(api_field: str | None, kind: str) -> str | None:
    """The form's field for an API error's field path."""
    if not api_field:
        return None
    if api_field in ("to", "customerid") or api_field.startswith("destination"):
        return "to"
    if api_field == "appid":
        return "app"
    if api_field in ("correlationid", "callbackData", "notifyurl"):
        return api_field
    if api_field.startswith("message.parameters."):
        return "p." + api_field.split(".")[2].split("[")[0]
    if api_field.startswith("message"):
        return "template"
    if kind == "json":
        return "json"
    head, _, rest = api_field.partition(".")
    return _LEAVES.get(rest.split(".")[0] if rest else head)
