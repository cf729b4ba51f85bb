"""The hot routes answered in front of FastAPI, in bare ASGI.

`POST /resources/v1/messaging`, `POST /v1/messages` and `POST /webhooks/whatsapp` carry nearly
every request a campaign makes. Through FastAPI each pays some 0.15-0.2 ms of CPU for layers
that do nothing for it: five middlewares, route matching over every route, dependency solving,
Request, Headers and Response objects, `json.dumps`. `WanodeApp` (api.app) answers these three
here, matched on method and path exactly, and hands everything else to FastAPI, where the
routes stay registered for the OpenAPI document and answer whenever this path stands aside.

Each answer is the FastAPI route's, byte for byte (tests/integration/test_fast_path.py): the
same handler (`send_webex`, `send_native`, `webhooks.accept`) and the same authentication
(`auth.authenticate`), BodyLimit's checks on the body (`limits.read_body`), the exception
handlers' bodies and headers (`ApiError` here; anything else by the app's own handlers, found
as Starlette's ExceptionMiddleware and ServerErrorMiddleware find them), and JSON as
JSONResponse renders it (orjson gives the same bytes for the str/int/list/dict answers here;
whatever it refuses is rendered by `json.dumps`, as JSONResponse would).

FastAPI's native OpenTelemetry instrumentation, when a provider is configured, wraps every
request; while it is on, this path stands aside so that the hot routes are traced too.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from wanode.api import webhooks
from wanode.api._request import json_object
from wanode.api.auth import authenticate
from wanode.api.context import Caller, Context
from wanode.api.errors import ApiError, error_content
from wanode.api.limits import declared_over, read_body, refuse_too_large
from wanode.api.messages import send_native
from wanode.api.messaging import send_webex

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]
ExceptionHandler = Callable[[Request, Exception], Any]

MESSAGING = "/resources/v1/messaging"
MESSAGES = "/v1/messages"
WEBHOOK = "/webhooks/whatsapp"

_CONTENT_TYPE = (b"content-type", b"application/json")
# How often (seconds) whether FastAPI's native telemetry is on is asked again: asking costs
# some 4 µs, and a tracer provider is set once, at start-up.
_TELEMETRY_RECHECK = 5.0


def render(content: Any) -> bytes:
    """`content` (str, int, bool, None, lists and dicts of them: no float, which orjson would
    render NaN as null where JSONResponse refuses it) as JSONResponse renders it."""
    try:
        return orjson.dumps(content)
    except orjson.JSONEncodeError:
        # A big integer, say: json.dumps takes it (or refuses it as JSONResponse would).
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")


async def answer(
    send: Send, status: int, content: Any, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """What `JSONResponse(content, status, headers)` sends, header order included."""
    body = render(content)
    raw_headers = [*headers, (b"content-length", str(len(body)).encode()), _CONTENT_TYPE]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class HotRoutes:
    """The hot routes of one app: `route(scope)` finds the handler of a request, or None."""

    def __init__(
        self,
        ctx: Context,
        *,
        exception_handlers: dict[Any, ExceptionHandler],
        telemetry_enabled: Callable[[], bool] | None = None,
    ) -> None:
        self.ctx = ctx
        self.max_bytes = ctx.settings.max_request_bytes
        self.read_timeout = ctx.settings.request_body_timeout
        # The app's handlers, read when a request needs them (the console adds its own after
        # the API's; none of them is for these routes' usual errors).
        self._exception_handlers = exception_handlers
        self._telemetry_enabled = telemetry_enabled
        self._telemetry_on = False
        self._telemetry_checked = float("-inf")
        self._routes: dict[str, Handler] = {
            MESSAGING: self._messaging,
            MESSAGES: self._messages,
            WEBHOOK: self._webhook,
        }

    def route(self, scope: Scope) -> Handler | None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return None
        handler = self._routes.get(scope["path"])
        if handler is None or self._telemetry():
            return None
        return handler

    def _telemetry(self) -> bool:
        if self._telemetry_enabled is None:
            return False
        now = time.monotonic()
        if now - self._telemetry_checked > _TELEMETRY_RECHECK:
            self._telemetry_on = self._telemetry_enabled()
            self._telemetry_checked = now
        return self._telemetry_on

    async def _messaging(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._send(scope, receive, send, self._webex)

    async def _messages(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._send(scope, receive, send, self._native)

    async def _webex(self, caller: Caller, raw: bytes, send: Send) -> None:
        response = await send_webex(self.ctx, caller, json_object(raw))
        await answer(send, 200, {"response": response})

    async def _native(self, caller: Caller, raw: bytes, send: Send) -> None:
        answered = await send_native(self.ctx, caller, json_object(raw))
        location = f"/v1/messages/{answered['transid']}".encode("latin-1")
        await answer(send, 202, answered, ((b"location", location),))

    async def _send(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        handle: Callable[[Caller, bytes, Send], Awaitable[None]],
    ) -> None:
        """A send request: BodyLimit's Content-Length check, then the key (before the body is
        read, as the route's dependency checks it), then the body and the handler."""
        declared = authorization = key = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value  # the last, as BodyLimit reads it
            elif name == b"key":
                key = value if key is None else key  # the first, as Starlette's Headers
            elif name == b"authorization":
                authorization = value if authorization is None else authorization
        if declared_over(declared, self.max_bytes):
            await refuse_too_large(scope, send, self.max_bytes)
            return
        try:
            caller = await authenticate(
                self.ctx,
                None if authorization is None else authorization.decode("latin-1"),
                None if key is None else key.decode("latin-1"),
            )
            raw = await read_body(
                scope, receive, send, max_bytes=self.max_bytes, read_timeout=self.read_timeout
            )
            if raw is None:
                return  # answered 413 or 408
            await handle(caller, raw, send)
        except Exception as exc:
            await self._failed(scope, receive, send, exc)

    async def _webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = signature = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"x-hub-signature-256":
                signature = value if signature is None else signature
        if declared_over(declared, self.max_bytes):
            await refuse_too_large(scope, send, self.max_bytes)
            return
        try:
            raw = await read_body(
                scope, receive, send, max_bytes=self.max_bytes, read_timeout=self.read_timeout
            )
            if raw is None:
                return
            status, content = await webhooks.accept(
                self.ctx, raw, "" if signature is None else signature.decode("latin-1")
            )
            await answer(send, status, content)
        except Exception as exc:
            await self._failed(scope, receive, send, exc)

    async def _failed(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        """Answer `exc` as the app's middleware would: an ApiError (the usual bad request) in
        the path's error shape; any other exception by the handler Starlette's
        ExceptionMiddleware would pick; else by the app's error handler (500), and raised on
        for the server to log, as ServerErrorMiddleware does."""
        handlers = self._exception_handlers
        chosen = _chosen(handlers, exc)
        if chosen is ApiError and isinstance(exc, ApiError):
            content = error_content(scope["path"], exc.code, exc.description, exc.field)
            await answer(send, exc.http_status, content)
            return
        if chosen is not None:
            response = await _call(handlers[chosen], Request(scope, receive), exc)
            await response(scope, receive, send)
            exc.__traceback__ = None
            return
        # FastAPI gives the last of these to ServerErrorMiddleware.
        fallback = next((h for k, h in reversed(handlers.items()) if k in (500, Exception)), None)
        if fallback is not None:
            await (await _call(fallback, Request(scope), exc))(scope, receive, send)
        raise exc


def _chosen(handlers: dict[Any, ExceptionHandler], exc: Exception) -> Any:
    """The key of the handler Starlette's ExceptionMiddleware picks for `exc`: its status code
    for an HTTPException with a handler of its own, else the first class of its MRO with one;
    None when the exception goes on to ServerErrorMiddleware."""
    if isinstance(exc, HTTPException) and exc.status_code != 500 and exc.status_code in handlers:
        return exc.status_code
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None  # Exception's handler is ServerErrorMiddleware's
        if cls in handlers:
            return cls
    return None


async def _call(handler: ExceptionHandler, request: Request, exc: Exception) -> Response:
    if inspect.iscoroutinefunction(handler):
        response: Response = await handler(request, exc)
    else:
        response = await run_in_threadpool(handler, request, exc)
    return response
