"""A real HTTP receiver on loopback that records what it is sent (notify URLs, subscribers)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)  # when it arrived

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """Answers `responses` in turn (then 200), recording every request.

    While `hanging` it answers nothing: each request is kept in `unanswered` and waits until
    `release()` (called when the receiver stops), its client long gone.
    """

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)
    hanging: bool = False
    unanswered: list[Received] = field(default_factory=list)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        """Let the hung requests end (answered 503 on connections their clients left)."""
        self._released.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def record(request: Request) -> Response:
            received = Received(request.url.path, dict(request.headers), await request.body())
            if self.hanging:
                self.unanswered.append(received)
                await self._released.wait()
                return Response(status_code=503)
            self.requests.append(received)
            status = self.responses.pop(0) if self.responses else 200
            return Response(status_code=status)

        return Starlette(routes=[Route("/{path:path}", record, methods=["POST", "GET", "HEAD"])])

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.requests) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"expected {count} requests, got {len(self.requests)} within {timeout}s"
                )
            await asyncio.sleep(0.02)
        return self.requests


def drs_by_message(received: list[Received]) -> dict[str, list[tuple[str, str]]]:
    """The DRs among `received`, as each message's (code, deliveryStatus) in arrival order."""
    by_message: dict[str, list[tuple[str, str]]] = {}
    for request in received:
        report = request.json()["deliveryInfoNotification"]
        info = report["deliveryInfo"]
        by_message.setdefault(report["transid"], []).append((info["code"], info["deliveryStatus"]))
    return by_message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve_app(app: Any, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(port=free_port())
    async with serve_app(rec.app(), rec.port):
        try:
            yield rec
        finally:
            rec.release()


@asynccontextmanager
async def hanging_server() -> AsyncIterator[str]:
    """A server on loopback that takes every request and never answers it; its base URL."""
    done = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await done.wait()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        done.set()
        server.close()
        await server.wait_closed()
