"""The Apps & keys page: register an app, change its notify URL, policies, pacing and tier;
create API keys (each shown once) and revoke them. Every action calls the `/v1/apps` and
`/v1/keys` route functions themselves, with the request's model built from the form, so the
console checks and refuses exactly what the API does."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from wanode.api import apps as apps_api
from wanode.api import keys as keys_api
from wanode.api.context import Context, context
from wanode.api.errors import ApiError
from wanode.api.shapes import AppIn
from wanode.console.render import page
from wanode.console.session import ConsoleSession, csrf_checked, require_session
from wanode.engine.policies import opt_in_rule

router = APIRouter(prefix="/console", include_in_schema=False)

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
IN_DOUBT = ("resend", "fail")


def _problems(exc: ValidationError | ApiError, prefix: str = "") -> dict[str, str]:
    """An API refusal as {form field: message}."""
    if isinstance(exc, ApiError):
        return {prefix + (exc.field or "form"): exc.description}
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        name = prefix + (loc[0] if loc else "form")
        found.setdefault(name, str(error.get("msg", "invalid")).removeprefix("Value error, "))
    return found


async def _render(
    request: Request,
    ctx: Context,
    session: ConsoleSession,
    *,
    notice: str = "",
    new_key: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    caller = session.caller
    apps = (await apps_api.list_apps(ctx=ctx, caller=caller))["apps"]
    for app in apps:
        app["pacing"] = await apps_api.get_pacing(app["id"], ctx=ctx, caller=caller)
        # The boxes show the rule in force: an app that never set one follows the default.
        app["opt_in_now"] = {c.upper() for c in opt_in_rule(app).categories}
    keys = (await keys_api.list_keys(ctx=ctx, caller=caller))["keys"]
    return page(
        request,
        session,
        "admin.html",
        apps=apps,
        keys=keys,
        categories=CATEGORIES,
        in_doubt_modes=IN_DOUBT,
        notice=notice,
        new_key=new_key,
        errors=errors or {},
        v=values or {},
        status_code=status_code,
    )


@router.get("/apps")
async def admin_page(
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(require_session),
) -> HTMLResponse:
    return await _render(request, ctx, session)


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "")).strip()


@router.post("/apps")
async def create_app(
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(csrf_checked),
) -> HTMLResponse:
    form = await request.form()
    values = {
        name: _text(form, name)
        for name in (
            "name",
            "phone_number_id",
            "waba_id",
            "display_phone_number",
            "gateway",
            "access_token",
            "app_secret",
            "notify_url",
        )
    }
    body: dict[str, Any] = {k: v for k, v in values.items() if v}
    if values["gateway"] == "sandbox":
        # The built-in sandbox checks these like Meta does, but nobody types them in.
        body.setdefault("access_token", secrets.token_urlsafe(32))
        body.setdefault("app_secret", secrets.token_hex(16))
    try:
        app = await apps_api.create_app(AppIn(**body), ctx=ctx, caller=session.caller)
    except (ValidationError, ApiError) as exc:
        return await _render(
            request,
            ctx,
            session,
            errors=_problems(exc, "new."),
            values={f"new.{k}": v for k, v in values.items()},
            status_code=400,
        )
    return await _render(request, ctx, session, notice=f"App {app['name']} ({app['id']}) created.")


@router.post("/apps/{app_id}")
async def update_app(
    app_id: str,
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(csrf_checked),
) -> HTMLResponse:
    form = await request.form()
    tier = _text(form, "messaging_tier")
    changes: dict[str, Any] = {
        "name": _text(form, "name"),
        "notify_url": _text(form, "notify_url") or None,
        "require_e164": form.get("require_e164") == "on",
        "opt_in_categories": [str(c) for c in form.getlist("opt_in_categories")],
        "messaging_tier": (tier if tier == "unlimited" else _whole(tier)) if tier else None,
        "in_doubt": _text(form, "in_doubt") or None,
    }
    prefix = f"{app_id}."
    try:
        settings = apps_api.AppSettings(**changes)
        app = await apps_api.update_app(app_id, settings, ctx=ctx, caller=session.caller)
    except (ValidationError, ApiError) as exc:
        return await _render(
            request,
            ctx,
            session,
            errors=_problems(exc, prefix),
            values={
                prefix + k: str(form.get(k, "")) for k in ("name", "notify_url", "messaging_tier")
            },
            status_code=400,
        )
    return await _render(request, ctx, session, notice=f"App {app['name']} saved.")


def _whole(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text  # the model refuses it, naming the field


@router.post("/keys")
async def create_key(
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(csrf_checked),
) -> HTMLResponse:
    form = await request.form()
    scope = _text(form, "scope")
    body: dict[str, Any] = {"name": _text(form, "name") or "console"}
    if scope == "admin":
        body["admin"] = True
    else:
        body["app_id"] = scope
    try:
        key = await keys_api.create_key(keys_api.KeyIn(**body), ctx=ctx, caller=session.caller)
    except (ValidationError, ApiError) as exc:
        problems = _problems(exc, "key.")
        return await _render(request, ctx, session, errors=problems, status_code=400)
    return await _render(request, ctx, session, new_key=key)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(
    key_id: str,
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(csrf_checked),
) -> HTMLResponse:
    try:
        await keys_api.revoke_key(key_id, ctx=ctx, caller=session.caller)
    except ApiError as exc:
        return await _render(
            request, ctx, session, errors=_problems(exc, "revoke."), status_code=404
        )
    if key_id == session.caller.key_id:
        # This session's own key: the console is closed to it from now on.
        return page(
            request, None, "signed_out.html", reason="You revoked the key you signed in with."
        )
    return await _render(request, ctx, session, notice=f"Key {key_id} revoked.")
