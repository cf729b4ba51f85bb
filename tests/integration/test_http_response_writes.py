"""The HTTP server writes each response whole: one `transport.write` for its head and body.

uvicorn writes a response's head and body apart; on loopback that is two segments and a peer
woken twice per answer (`wanode.cli.http_protocol`). A real uvicorn server on a loopback port
runs the protocol; the test's subclass only counts what reaches the connection's transport.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from tests.support.receiver import free_port
from tests.support.wire import read_message

from wanode.cli.http_protocol import BoundedHttpToolsProtocol

writes: list[bytes] = []


class _Counting:
    """The connection's transport, its writes recorded."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Protocol(BoundedHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Counting(transport))  # type: ignore[arg-type]


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b'{"ok":true}'
    if scope["path"] == "/stream":
        # A head, then a body that comes later: the head is not held back for it.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.5)
        await send({"type": "http.response.body", "body": b"late", "more_body": False})
        return
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def _server() -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=_Protocol, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn says so with a flag only)
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def test_each_response_goes_out_in_one_write() -> None:
    writes.clear()
    async with _server() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            answers = []
            for _ in range(3):  # one keep-alive connection
                writer.write(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                answers.append(await read_message(reader))
        finally:
            writer.close()
    assert all(a.startswith(b"HTTP/1.1 200") and a.endswith(b'{"ok":true}') for a in answers)
    assert writes == answers  # head and body together, one write per response


async def test_a_head_is_sent_before_a_body_that_comes_later() -> None:
    writes.clear()
    async with _server() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.4)
            assert head.startswith(b"HTTP/1.1 200")
            rest = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 5)
        finally:
            writer.close()
    assert b"late" in rest
    assert len(writes) == 2  # the head at the end of its turn; the body when it came
