"""A stopping server does not wait for a response that never ends by itself (the console's
live feeds): `bounded_config` gives uvicorn a graceful-shutdown timeout, after which open
requests are cancelled and the server stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from wanode.bench.stack import free_port
from wanode.cli.main import bounded_config
from wanode.config import Settings

pytestmark = pytest.mark.asyncio


async def test_an_endless_stream_does_not_hold_the_server_s_shutdown() -> None:
    ended: list[str] = []

    async def endless() -> AsyncIterator[str]:
        try:
            yield "data: open\n\n"
            await asyncio.Event().wait()  # nothing ever comes: only a cancel ends it
        finally:
            ended.append("stream")

    async def feed(request: Request) -> StreamingResponse:
        return StreamingResponse(endless(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/feed", feed)])
    port = free_port()
    server = uvicorn.Server(bounded_config(app, Settings(), host="127.0.0.1", port=port))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the server did not start"
        await asyncio.sleep(0.01)
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", f"http://127.0.0.1:{port}/feed") as response,
    ):
        lines = response.aiter_lines()
        assert await anext(lines) == "data: open"
        server.should_exit = True
        # Bounded only so a regression fails instead of hanging the suite.
        await asyncio.wait_for(serving, 30)
        assert ended == ["stream"]
        with pytest.raises(httpx.HTTPError):
            async for _ in lines:
                pass
