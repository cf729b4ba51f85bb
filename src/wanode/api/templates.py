"""`/v1/templates`: the template registry. Create a template (submitted to WhatsApp for review),
list and read what the registry holds, delete one, or sync the registry with WhatsApp now.

The template JSON keeps Meta's names (`name`, `language`, `category`, `parameter_format`,
`components`, `status`, `rejected_reason`) plus wanode's `appid`, `quality`, and `parameters`:
the names a Messaging API send of the template takes in `message.parameters`.

Also here, for both send shapes: turning a registry template that is not APPROVED into the
API error its status maps to (`refuse_unsendable`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from wanode.api._request import app_id, json_object, load_app
from wanode.api._time import iso
from wanode.api.auth import own_app, require_key, scope
from wanode.api.context import Caller, Context, context
from wanode.api.errors import WHATSAPP_ANSWERS, WHATSAPP_ANSWERS_NO_BODY, ApiError
from wanode.codes import DR_CODES, SYNC
from wanode.engine import templates as use_cases
from wanode.gateway import GatewayError, TemplateRejected
from wanode.messages import InvalidMessage, TemplateDefinition, parse_create
from wanode.messages.templates import check_sendable
from wanode.store import apps as app_queries
from wanode.store import templates as registry

router = APIRouter(dependencies=[Depends(require_key)])

_CREATE_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": ["appid", "name", "language"]},
                "example": {
                    "appid": "a_155054536910425280",
                    "name": "order_update",
                    "language": "en_US",
                    "category": "UTILITY",
                    "components": [
                        {
                            "type": "BODY",
                            "text": "Hi {{1}}, your order {{2}} ships today.",
                            "example": {"body_text": [["Ana", "#1234"]]},
                        }
                    ],
                },
            }
        },
        "description": "`appid` plus Meta's create body (cloud-api.md §3.1).",
    }
}


def public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "appid": row["app_id"],
        "name": row["name"],
        "language": row["language"],
        "category": row["category"],
        "parameter_format": row["parameter_format"],
        "status": row["status"],
        "rejected_reason": row["rejected_reason"],
        "quality": row["quality"],
        "components": row["definition"].get("components"),
        "parameters": use_cases.send_parameters(row),
        "updated_at": iso(row["updated_at"]),
        "synced_at": iso(row["synced_at"]),
    }


class TemplateError(ApiError):
    """A refused template send. Its codes are mostly delivery-report codes (webex-connect.md
    §2.2: 7804, 7849...), described with their wording there."""

    def __init__(self, code: str, detail: str, *, field: str) -> None:
        super().__init__(code, detail, field=field)
        known = DR_CODES.get(code)
        if known is not None and code not in SYNC.DESCRIPTIONS:
            self.description = f"{known.description}: {detail}"
            self.args = (self.description,)

    @classmethod
    def from_invalid(cls, exc: InvalidMessage, prefix: str) -> TemplateError:
        field = ".".join(part for part in (prefix, exc.field) if part)
        return cls(exc.code, f"{field} {exc.reason}", field=field)


def refuse_unsendable(definition: TemplateDefinition, field: str) -> None:
    """Raise the API error of a template that is not APPROVED (7849, 7805, 7869, 7868)."""
    try:
        check_sendable(definition)
    except InvalidMessage as exc:
        detail = exc.reason
        if definition.rejected_reason:
            detail += f" (rejected: {definition.rejected_reason})"
        raise TemplateError(exc.code, f"{field} {definition.id}: {detail}", field=field) from exc


def _gateway_error(exc: Exception, what: str) -> ApiError:
    if isinstance(exc, TemplateRejected):
        rejected = exc.rejected
        return ApiError(
            SYNC.INVALID_VALUE,
            f"WhatsApp refused {what}: ({rejected.code}) {rejected.title}: {rejected.details}",
            http_status=502 if rejected.http_status >= 500 else 400,
        )
    return ApiError(SYNC.INTERNAL_ERROR, f"WhatsApp could not be reached: {exc}", http_status=502)


@router.post(
    "/v1/templates", status_code=201, openapi_extra=_CREATE_DOC, responses=WHATSAPP_ANSWERS
)
async def create_template(
    request: Request, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    """Submit a template for WhatsApp's review; it is registered PENDING and a status webhook
    (or the next sync) tells when it is APPROVED or REJECTED."""
    body = json_object(await request.body())
    app = await load_app(ctx, own_app(caller, app_id(body)))
    try:
        definition = parse_create({k: v for k, v in body.items() if k != "appid"})
    except InvalidMessage as exc:
        raise ApiError.from_invalid(exc, "") from exc
    try:
        row = await use_cases.create(
            ctx.db, ctx.engine.gateways, app, definition, now=ctx.engine.clock()
        )
    except (TemplateRejected, GatewayError, LookupError) as exc:
        raise _gateway_error(exc, "the template") from exc
    return public(row)


@router.get("/v1/templates")
async def list_templates(
    ctx: Context = Depends(context),
    appid: str | None = None,
    status: str | None = None,
    name: str | None = None,
    language: str | None = None,
    category: str | None = None,
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """The registry's templates; `appid` narrows them to that app's WABA (an app's API key
    sees its own app's WABA's only), `status` and `category` take comma-separated values."""
    waba_id = None
    wanted_app = scope(caller, appid)
    if wanted_app is not None:
        waba_id = (await load_app(ctx, wanted_app))["waba_id"]
    async with ctx.db.begin() as conn:
        rows = await registry.list_templates(
            conn,
            waba_id=waba_id,
            statuses=_words(status),
            name=name,
            language=language,
        )
    wanted = _words(category)
    return {"templates": [public(row) for row in rows if not wanted or row["category"] in wanted]}


@router.post("/v1/templates/sync", responses=WHATSAPP_ANSWERS_NO_BODY)
async def sync_templates(
    request: Request, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    """Sync the registry with WhatsApp now: every WABA, or `{"appid"}`'s only (an app's API
    key syncs its own app's)."""
    raw = await request.body()
    body = json_object(raw) if raw.strip() else {}
    unknown = sorted(set(body) - {"appid"})
    if unknown:
        raise ApiError(SYNC.INVALID_VALUE, f"{unknown[0]} is not a field", field=unknown[0])
    wanted = scope(caller, app_id(body) if "appid" in body else None)
    try:
        reports = await ctx.engine.templates.sync(wanted)
    except LookupError as exc:
        raise ApiError(SYNC.INVALID_APP_ID, field="appid") from exc
    return {"synced": [report.as_json() for report in reports]}


@router.get("/v1/templates/{template_id}")
async def get_template(
    template_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    return public(await _row(ctx, template_id, caller))


@router.delete("/v1/templates/{template_id}", status_code=204, responses=WHATSAPP_ANSWERS_NO_BODY)
async def delete_template(
    template_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> Response:
    """Delete the template (this language only) at WhatsApp; it stays in the registry,
    DELETED."""
    row = await _row(ctx, template_id, caller)
    if row["status"] != registry.DELETED:
        async with ctx.db.begin() as conn:
            app = await app_queries.get_app(conn, row["app_id"])
        assert app is not None  # templates go with their app
        try:
            await use_cases.delete(ctx.db, ctx.engine.gateways, app, row, now=ctx.engine.clock())
        except (TemplateRejected, GatewayError, LookupError) as exc:
            raise _gateway_error(exc, "the deletion") from exc
    return Response(status_code=204)


async def _row(ctx: Context, template_id: str, caller: Caller) -> dict[str, Any]:
    """The template, if the caller's key may see it: an app's key sees its WABA's templates
    (those its app may send)."""
    own = None if caller.admin else await load_app(ctx, caller.app_id or "")
    async with ctx.db.begin() as conn:
        if own is None:
            row = await registry.get(conn, template_id)
        else:
            row = await registry.get_for_waba(conn, own["waba_id"], template_id)
    if row is None:
        raise ApiError(
            SYNC.INVALID_TEMPLATE_ID,
            f"no template {template_id} in the registry",
            field="template_id",
            http_status=404,
        )
    return row


def _words(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip().upper() for part in value.split(",") if part.strip()]
