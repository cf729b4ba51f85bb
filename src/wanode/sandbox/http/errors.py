"""How the sandbox's HTTP surface answers its two errors: `MetaError` as Graph's JSON error
body (with `WWW-Authenticate` on a 401), `SandboxError` (the control panel's) as its own."""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wanode.sandbox.rules.errors import MetaError, SandboxError

log = structlog.get_logger(__name__)


async def meta_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MetaError)
    log.info("sandbox.graph.rejected", path=request.url.path, code=exc.code)
    headers = {}
    if exc.http_status == 401:
        # Graph names the failed scheme the way RFC 6750 asks of bearer-token APIs.
        headers["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token"'
    return JSONResponse(exc.body(), status_code=exc.http_status, headers=headers)


async def sandbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    return JSONResponse(exc.body(), status_code=exc.http_status)


HANDLERS = {SandboxError: sandbox_error, MetaError: meta_error}
