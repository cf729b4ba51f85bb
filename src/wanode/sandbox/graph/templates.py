"""Template routes: Graph's `/{waba-id}/message_templates` and `/{template-id}` (cloud-api.md
§3). The control panel's `/templates` is in `wanode.sandbox.handset.panel`.

Lists are in creation order, at most 100 a page (default 25), with Graph's cursors. Filters:
`name` (exact), `status`, `category` (each a comma-separated list, any case) and `language`.
`fields` picks fields among id, name, language, status, category, parameter_format, components
and rejected_reason; without it all but rejected_reason are shown. The other fields Graph knows on
a template (`META_FIELDS`: message_send_ttl_seconds, quality_score, ...) are accepted and left
out, as Graph leaves out a field with no value; a name Graph does not know is 100. `summary`
(total_count, message_template_count, message_template_limit, are_translations_complete) adds
Graph's `summary` object to a list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wanode.sandbox.http import params
from wanode.sandbox.http.paging import page
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.template_parser import parse_template
from wanode.sandbox.state.templates import DEFAULT_FIELDS, FIELDS, Template

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

MAX_PAGE = 100
DEFAULT_PAGE = 25
# Meta's default limit of templates per WABA (an unverified business).
TEMPLATE_LIMIT = 250
META_FIELDS = frozenset(
    {
        *FIELDS,
        "message_send_ttl_seconds",
        "correct_category",
        "previous_category",
        "library_template_name",
        "quality_score",
        "cta_url_link_tracking_opted_out",
        "sub_category",
        "degrees_of_freedom_spec",
    }
)
SUMMARY_FIELDS = (
    "total_count",
    "message_template_count",
    "message_template_limit",
    "are_translations_complete",
)


class TemplateRoutes:
    def __init__(self, sandbox: Platform) -> None:
        self.sandbox = sandbox

    async def create(self, request: Request) -> Response:
        """`POST /{version}/{waba-id}/message_templates`."""
        waba_id = self._waba(request)
        spec = parse_template(await params.graph_json(request))
        template = self.sandbox.create_template(waba_id, spec)
        return JSONResponse(
            {"id": template.template_id, "status": template.status, "category": spec.category}
        )

    async def list(self, request: Request) -> Response:
        """`GET /{version}/{waba-id}/message_templates`."""
        waba_id = self._waba(request)
        query = request.query_params
        fields = _fields(query.get("fields"))
        found = [t for t in self.sandbox.templates.of(waba_id) if _matches(t, request)]
        answer = page(
            found,
            lambda t: t.template_id,
            limit=query.get("limit"),
            after=query.get("after"),
            before=query.get("before"),
            max_size=MAX_PAGE,
            default_size=DEFAULT_PAGE,
        )
        answer["data"] = [template.graph(fields) for template in answer["data"]]
        summary = query.get("summary")
        if summary is not None:
            every = self.sandbox.templates.of(waba_id)
            values = {
                "total_count": len(found),
                "message_template_count": len(every),
                "message_template_limit": TEMPLATE_LIMIT,
                "are_translations_complete": True,
            }
            answer["summary"] = {name: values[name] for name in _summary(summary)}
        return JSONResponse(answer)

    async def delete(self, request: Request) -> Response:
        """`DELETE /{version}/{waba-id}/message_templates?name=...[&hsm_id=...]`."""
        waba_id = self._waba(request)
        name = request.query_params.get("name")
        if not name:
            raise MetaError(100, "name: the parameter is required")
        self.sandbox.delete_templates(waba_id, name, request.query_params.get("hsm_id"))
        return JSONResponse({"success": True})

    def one(self, request: Request, template: Template) -> Response:
        """`GET /{version}/{template-id}` (dispatched by the app's `/{version}/{id}` route)."""
        self.sandbox.authorise_waba(template.waba_id, request.headers.get("authorization"))
        if request.method != "GET":
            raise MetaError(
                100,
                f"Unsupported {request.method.lower()} request: delete templates through "
                "/{waba-id}/message_templates",
                error_type="GraphMethodException",
            )
        return JSONResponse(template.graph(_fields(request.query_params.get("fields"))))

    def _waba(self, request: Request) -> str:
        params.version(request)
        return self.sandbox.authorise_waba(
            request.path_params["waba_id"], request.headers.get("authorization")
        )


def _fields(value: str | None) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_FIELDS
    wanted = tuple(part.strip() for part in value.split(",") if part.strip())
    for name in wanted:
        if name not in META_FIELDS:
            raise MetaError(
                100,
                f"fields: Tried accessing nonexisting field ({name}) on node type "
                "(WhatsAppBusinessHSM)",
            )
    return wanted


def _summary(value: str) -> tuple[str, ...]:
    wanted = tuple(part.strip() for part in value.split(",") if part.strip())
    for name in wanted:
        if name not in SUMMARY_FIELDS:
            raise MetaError(100, f"summary: {name!r} is not one of {', '.join(SUMMARY_FIELDS)}")
    return wanted


def _matches(template: Template, request: Request) -> bool:
    query = request.query_params
    checks = {
        "name": template.spec.name,
        "language": template.spec.language,
        "status": template.status,
        "category": template.spec.category,
    }
    for key, actual in checks.items():
        wanted = query.get(key)
        if wanted is None:
            continue
        if key in ("status", "category"):
            if actual not in {part.strip().upper() for part in wanted.split(",")}:
                return False
        elif actual != wanted:
            return False
    return True
