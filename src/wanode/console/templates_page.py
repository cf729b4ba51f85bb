"""The templates page (issue 15, page 4): the registry's templates with their status; a new
template from a form or from Meta's JSON, created through the same use case as
`POST /v1/templates`; a template's preview with sample values; and, for templates of the
in-process sandbox, approve and reject buttons (its control panel, as Meta's review would).

What a key sees is what `/v1/templates` shows it: an admin key every WABA's templates, an
app's key its app's WABA's.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from wanode.api.context import Caller, Context
from wanode.api.templates import public
from wanode.console import template_preview
from wanode.console.render import page
from wanode.console.sandbox_client import SandboxRefused, client
from wanode.console.session import ConsoleSession, csrf_checked, require_session
from wanode.engine import templates as use_cases
from wanode.gateway import GatewayError, TemplateRejected
from wanode.messages import InvalidMessage, parse_create
from wanode.store import apps as app_queries
from wanode.store import templates as registry

router = APIRouter(prefix="/console", include_in_schema=False)

STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "DELETED")
CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION")
REJECTION_REASONS = (
    "INVALID_FORMAT",
    "ABUSIVE_CONTENT",
    "INCORRECT_CATEGORY",
    "PROMOTIONAL",
    "SCAM",
    "TAG_CONTENT_MISMATCH",
)
_FORM_FIELDS = (
    "appid",
    "name",
    "language",
    "category",
    "header",
    "header_sample",
    "body",
    "samples",
    "footer",
    "quick_replies",
)


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def _apps(ctx: Context, caller: Caller) -> list[dict[str, Any]]:
    """The apps the key may act on."""
    async with ctx.db.begin() as conn:
        if caller.admin:
            return await app_queries.list_apps(conn)
        app = await app_queries.get_app(conn, caller.app_id or "")
    return [app] if app is not None else []


def _sandboxed(ctx: Context, app: dict[str, Any] | None) -> bool:
    """Whether the app's templates live in this process's sandbox (approve/reject apply)."""
    return (
        ctx.sandbox is not None
        and app is not None
        and app["gateway"] == "sandbox"
        and not app["graph_base_url"]
    )


@router.get("/templates")
async def list_page(
    request: Request, session: ConsoleSession = Depends(require_session)
) -> Response:
    ctx = _ctx(request)
    apps = await _apps(ctx, session.caller)
    wanted_app = request.query_params.get("appid") or ""
    wanted_status = request.query_params.get("status") or ""
    app = next((a for a in apps if a["id"] == wanted_app), None)
    waba_id = app["waba_id"] if app is not None else None
    if waba_id is None and not session.caller.admin:
        waba_id = apps[0]["waba_id"] if apps else "-"
    async with ctx.db.begin() as conn:
        rows = await registry.list_templates(
            conn,
            waba_id=waba_id,
            statuses=[wanted_status] if wanted_status in STATUSES else None,
        )
    return page(
        request,
        session,
        "templates_list.html",
        templates=[public(row) for row in rows],
        apps=apps,
        wanted_app=wanted_app,
        wanted_status=wanted_status,
        statuses=STATUSES,
        notice=request.query_params.get("notice"),
    )


@router.get("/templates/new")
async def new_page(
    request: Request, session: ConsoleSession = Depends(require_session)
) -> Response:
    apps = await _apps(_ctx(request), session.caller)
    fields = {"language": "en_US", "category": "UTILITY"}
    return _new_form(request, session, apps, fields)


def _new_form(
    request: Request,
    session: ConsoleSession,
    apps: list[dict[str, Any]],
    fields: dict[str, str],
    *,
    error: str | None = None,
    error_field: str | None = None,
    preview: template_preview.Preview | None = None,
    json_text: str | None = None,
    status_code: int = 200,
) -> Response:
    example = {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} ships today.",
                "example": {"body_text": [["Ana", "#1234"]]},
            },
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Track it"}]},
        ],
    }
    return page(
        request,
        session,
        "template_new.html",
        apps=apps,
        fields=fields,
        categories=CATEGORIES,
        error=error,
        error_field=error_field,
        preview=preview,
        json_text=json_text if json_text is not None else json.dumps(example, indent=2),
        status_code=status_code,
    )


def _form_fields(form: FormData) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in _FORM_FIELDS}


@router.post("/templates/new")
async def create_from_form(
    request: Request, session: ConsoleSession = Depends(csrf_checked)
) -> Response:
    """The form's template: previewed (`action=preview`) or created."""
    ctx = _ctx(request)
    apps = await _apps(ctx, session.caller)
    form = await request.form()
    fields = _form_fields(form)
    body = template_preview.create_body(fields)
    if form.get("action") == "preview":
        preview = template_preview.render(body["components"])
        return _new_form(request, session, apps, fields, preview=preview)
    return await _create(request, session, apps, fields, fields["appid"], body, json_text=None)


@router.post("/templates/json")
async def create_from_json(
    request: Request, session: ConsoleSession = Depends(csrf_checked)
) -> Response:
    """A template from Meta's create JSON (cloud-api.md §3.1), as `POST /v1/templates` takes."""
    ctx = _ctx(request)
    apps = await _apps(ctx, session.caller)
    form = await request.form()
    text = str(form.get("definition") or "")
    fields = {"language": "en_US", "category": "UTILITY", "appid": str(form.get("appid") or "")}
    try:
        body = json.loads(text)
    except ValueError as exc:
        return _new_form(
            request,
            session,
            apps,
            fields,
            error=f"definition: not JSON ({exc})",
            error_field="definition",
            json_text=text,
            status_code=400,
        )
    if not isinstance(body, dict):
        return _new_form(
            request,
            session,
            apps,
            fields,
            error="definition: must be a JSON object",
            error_field="definition",
            json_text=text,
            status_code=400,
        )
    return await _create(request, session, apps, fields, fields["appid"], body, json_text=text)


async def _create(
    request: Request,
    session: ConsoleSession,
    apps: list[dict[str, Any]],
    fields: dict[str, str],
    app_id: str,
    body: dict[str, Any],
    *,
    json_text: str | None,
) -> Response:
    """Create through `POST /v1/templates`'s use case; the form again, with the error, when
    the definition or WhatsApp refuses it."""
    ctx = _ctx(request)
    app = next((a for a in apps if a["id"] == app_id), None)
    error: str | None = None
    error_field: str | None = None
    if app is None:
        error, error_field = "appid: choose an app this key may act on", "appid"
    else:
        try:
            definition = parse_create(body)
            row = await use_cases.create(
                ctx.db, ctx.engine.gateways, app, definition, now=ctx.engine.clock()
            )
        except InvalidMessage as exc:
            error = f"({exc.code}) {exc.field}: {exc.reason}" if exc.field else exc.reason
            error_field = exc.field.split(".")[0].split("[")[0] if exc.field else None
        except TemplateRejected as exc:
            rejected = exc.rejected
            error = f"WhatsApp refused the template: ({rejected.code}) {rejected.details}"
        except (GatewayError, LookupError) as exc:
            error = f"WhatsApp could not be reached: {exc}"
        else:
            return RedirectResponse(f"/console/templates/{quote(row['id'])}", status_code=303)
    return _new_form(
        request,
        session,
        apps,
        fields,
        error=error,
        error_field=error_field,
        json_text=json_text,
        status_code=400,
    )


async def _visible(
    ctx: Context, caller: Caller, template_id: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The registry row and its app, if the key may see the template (`/v1/templates/{id}`'s
    rule); LookupError otherwise."""
    async with ctx.db.begin() as conn:
        row = await registry.get(conn, template_id)
        app = await app_queries.get_app(conn, row["app_id"]) if row is not None else None
    if row is None:
        raise LookupError(template_id)
    if not caller.admin:
        own = await _apps(ctx, caller)
        if not own or own[0]["waba_id"] != row["waba_id"]:
            raise LookupError(template_id)
    return row, app


@router.get("/templates/{template_id}")
async def template_page(
    request: Request, template_id: str, session: ConsoleSession = Depends(require_session)
) -> Response:
    ctx = _ctx(request)
    try:
        row, app = await _visible(ctx, session.caller, template_id)
    except LookupError:
        return page(
            request, session, "template_missing.html", template_id=template_id, status_code=404
        )
    shown = public(row)
    components = shown["components"] or []
    names = template_preview.variables(components)
    given = {name: request.query_params.get(f"v.{name}", "") for name in names}
    samples = {**template_preview.examples(components), **{k: v for k, v in given.items() if v}}
    return page(
        request,
        session,
        "template_page.html",
        t=shown,
        app=app,
        preview=template_preview.render(components, given),
        variables=[(name, samples.get(name, "")) for name in names],
        components_json=json.dumps(components, indent=2, ensure_ascii=False),
        reviewable=_sandboxed(ctx, app),
        reasons=REJECTION_REASONS,
        notice=request.query_params.get("notice"),
        error=request.query_params.get("error"),
    )


@router.post("/templates/{template_id}/review")
async def review(
    request: Request, template_id: str, session: ConsoleSession = Depends(csrf_checked)
) -> Response:
    """Approve or reject a sandbox template (the sandbox's control panel plays Meta's review),
    then sync the registry with it at once rather than wait for the status webhook."""
    ctx = _ctx(request)
    target = f"/console/templates/{quote(template_id)}"
    try:
        _row, app = await _visible(ctx, session.caller, template_id)
    except LookupError:
        return Response(status_code=404)
    sandbox = client(ctx)
    if sandbox is None or app is None or not _sandboxed(ctx, app):
        detail = "only templates of the in-process sandbox are reviewed here"
        return RedirectResponse(f"{target}?error={quote(detail)}", status_code=303)
    form = await request.form()
    status = str(form.get("status") or "")
    reason = str(form.get("reason") or "") if status == "REJECTED" else ""
    try:
        await sandbox.set_template_status(template_id, status, reason or None)
    except SandboxRefused as exc:
        return RedirectResponse(f"{target}?error={quote(exc.detail)}", status_code=303)
    await ctx.engine.templates.sync(app["id"])
    return RedirectResponse(f"{target}?notice={quote(status.lower())}", status_code=303)
