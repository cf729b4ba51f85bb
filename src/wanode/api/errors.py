"""Every error the HTTP API answers, mapped to a status code and body in one place.

The Messaging API (`/resources/...`) answers in the Webex shape
`{"response": {"code", "description", "field"?}}`; native resources answer
`{"error": {"code", "message", "field"?}}`.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wanode.codes import SYNC
from wanode.messages import InvalidMessage

log = structlog.get_logger(__name__)

_HTTP_STATUS = {
    SYNC.AUTH_FAILED: 401,
    SYNC.KEY_MISSING: 401,
    SYNC.NOT_FOUND: 404,
    SYNC.INTERNAL_ERROR: 500,
}


class ApiError(Exception):
    def __init__(
        self,
        code: str,
        detail: str | None = None,
        *,
        field: str | None = None,
        http_status: int | None = None,
    ) -> None:
        base = SYNC.DESCRIPTIONS.get(code, "Error")
        self.code = code
        self.description = f"{base}: {detail}" if detail else base
        self.field = field
        self.http_status = http_status or _HTTP_STATUS.get(code, 400)
        super().__init__(self.description)

    @classmethod
    def from_invalid(cls, exc: InvalidMessage, prefix: str) -> ApiError:
        field = ".".join(part for part in (prefix, exc.field) if part)
        return cls(exc.code, f"{field} {exc.reason}", field=field)


def error_body(request: Request, code: str, description: str, field: str | None) -> dict[str, Any]:
    return error_content(request.url.path, code, description, field)


def error_content(path: str, code: str, description: str, field: str | None) -> dict[str, Any]:
    """The error body in the shape of `path`'s API (see the module's docstring)."""
    if path.startswith("/resources/"):
        response: dict[str, Any] = {"code": code, "description": description}
        if field:
            response["field"] = field
        return {"response": response}
    error: dict[str, Any] = {"code": code, "message": description}
    if field:
        error["field"] = field
    return {"error": error}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(request, exc.code, exc.description, exc.field), status_code=exc.http_status
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid", "type": ""}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "path", "query")]
        field = ".".join(loc) or None
        if first.get("type") == "json_invalid":
            code, message = SYNC.INVALID_JSON, SYNC.DESCRIPTIONS[SYNC.INVALID_JSON]
        elif first.get("type") == "missing":
            code, message = SYNC.MANDATORY_MISSING, f"param '{field}' missing"
        else:
            code, message = SYNC.INVALID_VALUE, f"{field}: {first.get('msg', 'invalid')}"
        return JSONResponse(error_body(request, code, message, field), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = SYNC.NOT_FOUND if exc.status_code == 404 else SYNC.INVALID_VALUE
        return JSONResponse(
            error_body(request, code, str(exc.detail), None),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("api_unhandled_error", path=request.url.path)
        code = SYNC.INTERNAL_ERROR
        return JSONResponse(
            error_body(request, code, SYNC.DESCRIPTIONS[code], None), status_code=500
        )


# For a route's `responses=`: what a route that asks WhatsApp (or the sandbox) before it answers
# may answer besides its own refusals, with and without a body of its own (a body's route is
# documented with 400 already). The OpenAPI document gives them the error body.
WHATSAPP_ANSWERS: dict[int | str, dict[str, Any]] = {
    502: {"description": "WhatsApp could not be reached, or failed"},
}
WHATSAPP_ANSWERS_NO_BODY: dict[int | str, dict[str, Any]] = {
    400: {"description": "WhatsApp refused the request (its error in the message)"},
    **WHATSAPP_ANSWERS,
}
