"""A pure-ASGI guard on request bodies: none larger than the service accepts, none slower than
it waits for.

A Content-Length over the limit is refused before a byte of the body is read. A chunked body
declares no length, so the guard also counts what arrives as the app reads it: once past the
limit, the request is answered 413 and the app sees the client go away, so nothing past the
limit is ever buffered (uvicorn stops reading once 64 KiB wait for the app). A body that has
not fully arrived `read_timeout` seconds after the app began reading it is answered 408: uvicorn
has no timeout of its own on an unfinished request.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wanode.api.errors import error_body
from wanode.codes import SYNC

_DISCONNECT: Message = {"type": "http.disconnect"}


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, read_timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if declared_over(dict(scope.get("headers") or []).get(b"content-length"), self.max_bytes):
            await refuse_too_large(scope, send, self.max_bytes)
            return
        body = _GuardedBody(self, scope, receive, send)
        try:
            await self.app(scope, body.receive, body.send)
        except Exception:
            # Once refused, the app only saw the client leave mid-body: what it raises about
            # that concerns a request already answered.
            if not body.refused:
                raise


class _GuardedBody:
    """One request's receive and send, counting the body and timing it until it is complete."""

    def __init__(self, limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.scope = scope
        self._receive = receive
        self._send = send
        self.received = 0
        self.deadline: float | None = None
        self.complete = False  # the whole body is in: receive() only waits for a disconnect now
        self.started = False  # the app began its response: too late to answer for it
        self.refused = False
        self.answered = False  # we answered: the app's own response goes nowhere

    async def receive(self) -> Message:
        if self.refused:
            return _DISCONNECT
        if self.complete:
            return await self._receive()
        # The clock starts when the app first reads, so requests never read cost no timer.
        if self.deadline is None:
            self.deadline = asyncio.get_running_loop().time() + self.limit.read_timeout
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            return await self._refuse(
                408, f"Request body not received within {self.limit.read_timeout:g} s"
            )
        if message["type"] != "http.request":
            self.complete = True
            return message
        self.received += len(message.get("body", b""))
        if self.received > self.limit.max_bytes:
            return await self._refuse(413, f"Request body over {self.limit.max_bytes} bytes")
        self.complete = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def _refuse(self, status: int, description: str) -> Message:
        self.refused = True
        if not self.started:
            self.answered = True
            await _answer(self.scope, self._send, status, description)
        return _DISCONNECT


async def read_body(
    scope: Scope, receive: Receive, send: Send, *, max_bytes: int, read_timeout: float
) -> bytes | None:
    """A whole request body read under BodyLimit's rules, for an app that reads it without the
    guard around it (`api.fast`, which checks the Content-Length itself, `declared_over`): None
    once the request is answered 413 or 408, as BodyLimit answers; `ClientDisconnect` if the
    client leaves mid-body, as Starlette's `Request.body()` raises."""
    deadline = asyncio.get_running_loop().time() + read_timeout
    chunks: list[bytes] = []
    received = 0
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            await _answer(scope, send, 408, f"Request body not received within {read_timeout:g} s")
            return None
        if message["type"] != "http.request":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        received += len(chunk)
        if received > max_bytes:
            await refuse_too_large(scope, send, max_bytes)
            return None
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def declared_over(declared: bytes | None, max_bytes: int) -> bool:
    """Whether a request's Content-Length (its last, as BodyLimit reads it) is over the limit."""
    return declared is not None and declared.isdigit() and int(declared) > max_bytes


async def refuse_too_large(scope: Scope, send: Send, max_bytes: int) -> None:
    await _answer(scope, send, 413, f"Request body over {max_bytes} bytes")


async def _answer(scope: Scope, send: Send, status: int, description: str) -> None:
    """Answer in the path's usual error shape and close the connection: the rest of the body
    is still on its way, and reading it only to throw it away would cost us, not the sender."""
    code = SYNC.INVALID_VALUE
    body = orjson.dumps(error_body(Request(scope), code, description, None))
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
