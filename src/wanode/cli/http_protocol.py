"""uvicorn's httptools protocol with the two bounds it lacks on a request's headers, and
responses written whole.

httptools keeps a header block however long it grows, and uvicorn waits for it however slowly
it comes (its keep-alive timeout only runs between two requests). Measured on uvicorn 0.54: one
100 MB header line grew the server by 170 MB and its connection stayed open; so did a
connection that never sent a byte.

uvicorn writes a response's head and its body with a `transport.write` each: two system calls,
two TCP segments, and on loopback a peer woken twice to read one answer. With one message a
second that is noise; with a webhook, a send and a DR post every few milliseconds, the
server's first write was the largest single leaf of the 50 msg/s lifecycle's profile. So the
writes a response makes in one turn of the event loop go out as one (`_Corked`).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from wanode.codes import SYNC


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Headers over `max_header_bytes` are answered 431; headers not complete `header_timeout`
    seconds after their first byte (or after the connection opened) close the connection."""

    max_header_bytes = 64 * 1024
    header_timeout = 10.0
    # Armed while a header block is being read; its presence is that state.
    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0

    @classmethod
    def with_limits(
        cls, *, max_header_bytes: int, header_timeout: float
    ) -> type[BoundedHttpToolsProtocol]:
        """The class for `uvicorn.Config(http=...)`, which builds protocols itself."""
        limits = {"max_header_bytes": max_header_bytes, "header_timeout": header_timeout}
        return cast(type[BoundedHttpToolsProtocol], type(cls.__name__, (cls,), limits))

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._corked = _Corked(transport, self.loop)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_read()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing: a read that completed the headers is not header bytes only.
        if self._header_timer is not None and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # A connection's first request keeps the deadline its opening set.
        if self._header_timer is None:
            self._await_headers()

    def on_headers_complete(self) -> None:
        self._headers_read()
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:
            cycle.transport = self._corked  # type: ignore[assignment]

    def send_400_response(self, msg: str) -> None:
        self._corked.flush()  # (a pipelined request's answer goes first)
        super().send_400_response(msg)

    def shutdown(self) -> None:
        # A response written this turn is sent before the connection closes.
        self._corked.flush()
        super().shutdown()

    def _await_headers(self) -> None:
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _headers_read(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse_headers(self) -> None:
        self._headers_read()
        # A pipelined request's response may be on the wire: only a connection with none gets one.
        if self.cycle is None or self.cycle.response_complete:
            description = f"Request headers over {self.max_header_bytes} bytes"
            body = orjson.dumps({"error": {"code": SYNC.INVALID_VALUE, "message": description}})
            head = (
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: application/json\r\n"
                b"content-length: %d\r\n"
                b"connection: close\r\n\r\n" % len(body)
            )
            self._corked.flush()
            self.transport.write(head + body)
        self.transport.close()


class _Corked:
    """A connection's transport as a response cycle sees it: what is written in one turn of
    the event loop goes out in one `write`, at the end of that turn (or before a close).
    Everything else is the transport's own."""

    __slots__ = ("_loop", "_parts", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._parts: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        parts = self._parts
        if parts is None:
            self._parts = [data]
            self._loop.call_soon(self.flush)
        else:
            parts.append(data)

    def flush(self) -> None:
        parts, self._parts = self._parts, None
        if parts and not self._transport.is_closing():
            self._transport.write(parts[0] if len(parts) == 1 else b"".join(parts))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
