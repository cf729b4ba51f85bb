"""The send path without Starlette: `POST /{version}/{phone-number-id}/messages`, the request
every message's life starts with, served by a bare ASGI function in front of the sandbox's
Starlette app; every other request, and every send while faults are being injected
(`wanode.sandbox.faults`), goes on to that app.

The answers are the route's, byte for byte: the same checks in the same order
(`MessageRoutes.send`), the answer encoded once with orjson (the same bytes as Starlette's
`JSONResponse` for these all-string objects, the same two headers), and an error answered by
the app's own handler (`wanode.sandbox.http.errors`). What the app would answer 500 is
answered 500 here too, and raised on to the server, as Starlette's error middleware does.
Starlette's routing scan, its two middlewares, the Request object and the per-request
exception-handler wrapping are what this skips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette._utils import get_route_path
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from wanode.sandbox.graph.messages import IDEMPOTENCY, MessageRoutes
from wanode.sandbox.http import params
from wanode.sandbox.http.errors import HANDLERS

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

_AUTHORIZATION = b"authorization"
_IDEMPOTENCY = IDEMPOTENCY.lower().encode()
_JSON = b"application/json"


class SendFront:
    """An ASGI app: the send path itself, everything else to `app`."""

    def __init__(self, app: ASGIApp, sandbox: Platform, routes: MessageRoutes) -> None:
        self.app = app
        self._sandbox = sandbox
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            parts = get_route_path(scope).split("/")
            # "/{version}/{phone_number_id}/messages", each part one or more characters.
            if (
                len(parts) == 4
                and parts[3] == "messages"
                and parts[1]
                and parts[2]
                and not parts[0]
                and not self._faulty()
            ):
                await self._send(scope, receive, send, parts[1], parts[2])
                return
        await self.app(scope, receive, send)

    def _faulty(self) -> bool:
        faults = self._sandbox.faults
        return faults.rate > 0 or faults.pending() > 0

    async def _send(
        self, scope: Scope, receive: Receive, send: Send, version: str, phone_number_id: str
    ) -> None:
        authorization: str | None = None
        idempotency_key: str | None = None
        # Starlette's `headers.get` answers the first of a repeated header; so does this.
        for name, value in scope["headers"]:
            if name == _AUTHORIZATION:
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name == _IDEMPOTENCY and idempotency_key is None:
                idempotency_key = value.decode("latin-1")
        try:
            checked = params.checked_version(version)
            number = self._sandbox.authorise(phone_number_id, authorization)
            payload = params.graph_body(await _body(receive))
            body = orjson.dumps(self._routes.send(checked, number, payload, idempotency_key))
        except Exception as exc:
            await _failed(exc, scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"%d" % len(body)), (b"content-type", _JSON)],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _body(receive: Receive) -> bytes:
    """The request's body, as Starlette's `Request.body` reads it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


async def _failed(exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer `exc` as the app would: its handler's answer, or a 500 and the error raised."""
    for kind in type(exc).__mro__:
        handler = HANDLERS.get(kind)
        if handler is not None:
            response = await handler(Request(scope, receive), exc)
            await response(scope, receive, send)
            return
    await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
    raise exc
