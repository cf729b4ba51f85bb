"""The Messages page: the message log, filtered and keyset-paginated on the server; and a
message's page (timeline, the message as the customer sees it, its Cloud API payload, its
delivery reports), refreshed by htmx polling until the message's fate is final."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from wanode.api.context import Context, context
from wanode.console import template_preview
from wanode.console.render import page
from wanode.console.session import ConsoleSession, require_session
from wanode.store import apps as app_queries
from wanode.store import message_log
from wanode.store import messages as outbox
from wanode.store import templates as registry

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE_SIZE = 50
STATUSES = ("queued", "submitted", "sent", "delivered", "read", "failed")
# A message in one of these changes no more: its page stops polling.
FINAL = ("read", "failed")
# While a message is live, its page asks for news this often.
POLL = "1s"


@dataclass
class Filters:
    """The log's filters as typed in the form, and the problems found in them (by field)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    app_ids: list[str] | None = None

    def query(self, **extra: str) -> str:
        kept = {k: v for k, v in {**self.values, **extra}.items() if v}
        return urlencode(kept)


def _time(text: str, name: str, errors: dict[str, str]) -> float | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        errors[name] = "give a date and time, as YYYY-MM-DDTHH:MM (UTC)"
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def parse_filters(request: Request, session: ConsoleSession) -> tuple[Filters, Any]:
    """The filter form's values, checked; and the store's filter for them."""
    names = ("app", "status", "destination", "correlationid", "transid", "code", "since", "until")
    values = {name: request.query_params.get(name, "").strip() for name in names}
    filters = Filters(values)
    errors = filters.errors
    caller = session.caller
    if caller.admin:
        filters.app_ids = [values["app"]] if values["app"] else None
    else:
        # An app's key sees its own app: whatever `app` says, it is not widened.
        filters.app_ids = [caller.app_id or ""]
        values["app"] = ""
    status = values["status"] or None
    if status is not None and status not in STATUSES:
        errors["status"] = "pick one of the listed statuses"
        status = None
    code: int | None = None
    if values["code"]:
        try:
            code = int(values["code"])
        except ValueError:
            errors["code"] = "an error code is a number, as 131047"
    since = _time(values["since"], "since", errors)
    until = _time(values["until"], "until", errors)
    flt = message_log.MessageFilter(
        app_ids=filters.app_ids,
        status=status,
        destination=values["destination"] or None,
        correlationid=values["correlationid"] or None,
        transid=values["transid"] or None,
        error_code=code,
        since=since,
        until=until,
    )
    return filters, flt


async def _apps(ctx: Context, session: ConsoleSession) -> list[dict[str, Any]]:
    async with ctx.db.begin() as conn:
        apps = await app_queries.list_apps(conn)
    caller = session.caller
    return [{"id": app["id"], "name": app["name"]} for app in apps if caller.may_act_on(app["id"])]


@router.get("/messages")
async def messages_page(
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(require_session),
) -> HTMLResponse:
    filters, flt = parse_filters(request, session)
    after = _cursor(request, "after")
    before = _cursor(request, "before")
    found = message_log.Page([], None, None)
    if not filters.errors:
        async with ctx.db.begin() as conn:
            found = await message_log.page(conn, flt, after=after, before=before, limit=PAGE_SIZE)
    return page(
        request,
        session,
        "messages.html",
        filters=filters,
        statuses=STATUSES,
        apps=await _apps(ctx, session),
        rows=found.rows,
        older_query=filters.query(after=found.older.encode()) if found.older else None,
        newer_query=filters.query(before=found.newer.encode()) if found.newer else None,
        status_code=200 if not filters.errors else 400,
    )


def _cursor(request: Request, name: str) -> message_log.Cursor | None:
    text = request.query_params.get(name, "")
    return message_log.Cursor.decode(text) if text else None


async def _message(ctx: Context, session: ConsoleSession, transid: str) -> dict[str, Any] | None:
    """The message with its history and DRs, if the session's key may see it."""
    async with ctx.db.begin() as conn:
        message = await outbox.get(conn, transid)
        if message is None or not session.caller.may_act_on(message["app_id"]):
            return None
        message["history"] = await outbox.history(conn, transid)
        message["deliveries"] = await outbox.deliveries(conn, transid)
    message["payload_json"] = orjson.dumps(message["payload"], option=orjson.OPT_INDENT_2).decode()
    for delivery in message["deliveries"]:
        delivery["body_json"] = orjson.dumps(delivery["body"], option=orjson.OPT_INDENT_2).decode()
    message["final"] = message["status"] in FINAL
    message["view"] = customer_view(message["payload"])
    if message["kind"] == "template" and message["template_id"]:
        async with ctx.db.begin() as conn:
            template = await registry.get(conn, message["template_id"])
        if template is not None and isinstance(template.get("definition"), dict):
            _rendered_template(message["view"], template["definition"], message["payload"])
    return message


def _rendered_template(
    view: dict[str, Any], definition: dict[str, Any], payload: dict[str, Any]
) -> None:
    """The template's text with the values the message carries, in place of the list of
    parameters (the registry's definition holds the text; the payload, the values)."""
    components = definition.get("components")
    if not isinstance(components, list):
        return
    values: dict[str, str] = {}
    template = payload.get("template") or {}
    for component in template.get("components") or []:
        if not isinstance(component, dict) or component.get("type") not in ("header", "body"):
            continue
        prefix = "header." if component["type"] == "header" else ""
        for i, parameter in enumerate(component.get("parameters") or [], start=1):
            if isinstance(parameter, dict) and isinstance(parameter.get("text"), str):
                name = parameter.get("parameter_name") or str(i)
                values[prefix + str(name)] = parameter["text"]
    preview = template_preview.render(components, values)
    view["header"] = preview.header or (f"[{preview.header_media}]" if preview.header_media else "")
    view["text"] = preview.body
    view["lines"] = []
    view["footer"] = preview.footer or ""
    view["buttons"] = [button["text"] for button in preview.buttons]
    parts = [view["header"], view["text"], view["footer"]]
    view["display"] = "\n".join(part for part in parts if part)


@router.get("/messages/{transid}")
async def message_page(
    transid: str,
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(require_session),
) -> HTMLResponse:
    return await _message_view(request, ctx, session, transid, "message.html")


@router.get("/messages/{transid}/live")
async def message_live(
    transid: str,
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(require_session),
) -> HTMLResponse:
    """The live part of a message's page (status, timeline, DRs), for htmx's polling."""
    return await _message_view(request, ctx, session, transid, "message_live.html")


async def _message_view(
    request: Request, ctx: Context, session: ConsoleSession, transid: str, template: str
) -> HTMLResponse:
    message = await _message(ctx, session, transid)
    if message is None:
        return page(request, session, "not_found.html", what=f"message {transid}", status_code=404)
    return page(request, session, template, m=message, poll=POLL)


def customer_view(payload: dict[str, Any]) -> dict[str, Any]:
    """What the customer's phone shows for a Cloud API message payload, as plain fields for the
    template: `kind`, `text` (the body or caption), and what else the kind shows."""
    kind = str(payload.get("type", ""))
    content = payload.get(kind)
    data: dict[str, Any] = content if isinstance(content, dict) else {}
    view: dict[str, Any] = {"kind": kind, "text": "", "lines": [], "buttons": []}
    if kind == "text":
        view["text"] = data.get("body", "")
    elif kind in ("image", "video", "document", "audio", "sticker"):
        view["text"] = data.get("caption", "")
        source = data.get("link") or (f"media id {data['id']}" if data.get("id") else "")
        view["lines"] = [f"{kind}: {data.get('filename') or source}"]
    elif kind == "location":
        view["text"] = "\n".join(str(data.get(k, "")) for k in ("name", "address") if data.get(k))
        view["lines"] = [f"{data.get('latitude')}, {data.get('longitude')}"]
    elif kind == "contacts":
        contacts = payload.get("contacts") or []
        view["lines"] = [
            (c.get("name") or {}).get("formatted_name", "contact")
            for c in contacts
            if isinstance(c, dict)
        ]
    elif kind == "reaction":
        view["text"] = data.get("emoji", "")
    elif kind == "interactive":
        _interactive(data, view)
    elif kind == "template":
        _template(data, view)
    parts = [view.get("header", ""), view["text"], *view["lines"], view.get("footer", "")]
    view["display"] = "\n".join(str(part) for part in parts if part)
    return view


def _interactive(data: dict[str, Any], view: dict[str, Any]) -> None:
    header = data.get("header") or {}
    body = data.get("body") or {}
    footer = data.get("footer") or {}
    view["header"] = header.get("text", "") if isinstance(header, dict) else ""
    view["text"] = body.get("text", "") if isinstance(body, dict) else ""
    view["footer"] = footer.get("text", "") if isinstance(footer, dict) else ""
    action = data.get("action") or {}
    if not isinstance(action, dict):
        return
    for button in action.get("buttons") or []:
        reply = button.get("reply", {}) if isinstance(button, dict) else {}
        view["buttons"].append(reply.get("title", ""))
    if action.get("button"):
        view["buttons"].append(action["button"])
    for section in action.get("sections") or []:
        if not isinstance(section, dict):
            continue
        for row in section.get("rows") or []:
            if isinstance(row, dict):
                view["lines"].append(row.get("title", ""))
    if action.get("name") == "cta_url":
        parameters = action.get("parameters") or {}
        view["buttons"].append(parameters.get("display_text", ""))


def _template(data: dict[str, Any], view: dict[str, Any]) -> None:
    language = data.get("language") or {}
    code = language.get("code", "") if isinstance(language, dict) else ""
    view["header"] = f"template {data.get('name', '')} ({code})"
    for component in data.get("components") or []:
        if not isinstance(component, dict):
            continue
        for parameter in component.get("parameters") or []:
            if not isinstance(parameter, dict):
                continue
            kind = parameter.get("type", "")
            value = parameter.get(kind)
            shown = value if isinstance(value, str) else orjson.dumps(value).decode()
            name = parameter.get("parameter_name")
            where = component.get("type", "")
            label = f"{where} {name}" if name else where
            view["lines"].append(f"{label}: {shown}")
