"""The aiohttp transport beneath the httpx clients: errors say whether the request may have
reached the server, against real loopback servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import httpx
import pytest
from tests.support.receiver import free_port

from wanode.gateway import Credentials, GatewayError
from wanode.gateway.cloud import CloudGateway
from wanode.transport import PooledTransport, _precise

CREDS = Credentials(phone_number_id="1065403522", access_token="tok", waba_id="1")
PAYLOAD = {"messaging_product": "whatsapp", "to": "4915112345678", "type": "text"}
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """A TCP server on loopback that answers with whatever `handler` writes."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    await reader.readexactly(length)


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.sleep(30)


async def hangs_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.close()


async def cuts_the_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"messages"')
    await writer.drain()
    writer.close()


async def answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            await read_request(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (never_answers, httpx.ReadTimeout),
        (hangs_up, httpx.ReadError),
        (cuts_the_body, httpx.ReadError),
    ],
)
async def test_a_failure_after_the_request_was_sent_is_a_read_error(
    handler: Handler, error: type[httpx.TransportError]
) -> None:
    async with raw_server(handler) as url:
        client = httpx.AsyncClient(transport=PooledTransport(2), timeout=0.5)
        try:
            with pytest.raises(error):
                await client.post(url, content=b"{}")
        finally:
            await client.aclose()


@pytest.mark.parametrize("handler", [never_answers, hangs_up, cuts_the_body])
async def test_the_gateway_calls_such_a_send_ambiguous(handler: Handler) -> None:
    async with raw_server(handler) as url:
        gateway = CloudGateway(url, timeout=0.5)
        try:
            with pytest.raises(GatewayError) as caught:
                await gateway.send(CREDS, PAYLOAD, idempotency_key="t1")
            assert caught.value.ambiguous
        finally:
            await gateway.aclose()


async def test_a_refused_connection_sent_nothing() -> None:
    client = httpx.AsyncClient(transport=PooledTransport(2), timeout=1.0)
    try:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{free_port()}", content=b"{}")
    finally:
        await client.aclose()


async def test_connections_are_kept_and_reused() -> None:
    connections = 0

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await answers(reader, writer)

    async with raw_server(counting) as url:
        client = httpx.AsyncClient(transport=PooledTransport(2), timeout=2.0)
        try:
            for _ in range(3):
                answers_ = await asyncio.gather(
                    *(client.post(url, content=b"{}") for _ in range(8))
                )
                assert [r.status_code for r in answers_] == [204] * 8
        finally:
            await client.aclose()
    # 24 requests, never more than 2 at once, over the 2 connections the pool may hold.
    assert connections == 2


@pytest.mark.parametrize(
    ("cause", "mapped"),
    [
        (aiohttp.ConnectionTimeoutError(), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError(), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.ReadError),
        (aiohttp.ClientPayloadError("cut"), httpx.ReadError),
    ],
)
def test_each_aiohttp_error_maps_to_what_it_means(
    cause: Exception, mapped: type[httpx.TransportError]
) -> None:
    # httpx-aiohttp's own mapping calls a dropped connection a connect timeout.
    generic = httpx.ConnectTimeout("generic")
    generic.__cause__ = cause
    assert type(_precise(generic)) is mapped
