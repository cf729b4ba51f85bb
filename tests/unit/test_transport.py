"""The aiohttp transport beneath the httpx clients: errors say whether the request may have
reached the server, against real loopback servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import httpx
import pytest
from tests.support.receiver import free_port
from tests.support.wire import read_message

from wanode.gateway import Credentials, GatewayError
from wanode.gateway.cloud import CloudGateway
from wanode.transport import LeanClient, PooledTransport, Poster, Reply, _precise

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
    await read_message(reader)


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


# The lean path (`LeanClient`): the gateway's sends and the delivery reports.


Lean = Callable[..., AbstractAsyncContextManager[Poster]]


@pytest.fixture
def lean() -> Lean:
    """The lean path's client (`wanode.http1`), with these tests as its conformance suite."""

    @asynccontextmanager
    async def client(
        timeout: float = 0.5, per_origin: int = 2, **options: Any
    ) -> AsyncIterator[Poster]:
        made = LeanClient(
            timeout=timeout, per_origin=per_origin, headers={"User-Agent": "t/1"}, **options
        )
        try:
            yield made
        finally:
            await made.aclose()

    return client


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (never_answers, httpx.ReadTimeout),
        (hangs_up, httpx.ReadError),
        (cuts_the_body, httpx.ReadError),
    ],
)
async def test_lean_a_failure_after_the_request_was_sent_is_a_read_error(
    lean: Lean, handler: Handler, error: type[httpx.TransportError]
) -> None:
    async with raw_server(handler) as url, lean() as client:
        with pytest.raises(error):
            await client.post(url, b"{}", {})


async def test_lean_a_refused_connection_sent_nothing(lean: Lean) -> None:
    async with lean() as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{free_port()}", b"{}", {})


async def test_lean_sends_the_body_and_headers_once_and_follows_no_redirect(lean: Lean) -> None:
    seen: list[bytes] = []

    async def redirects(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        body = await reader.readexactly(7)
        seen.append(head + body)
        writer.write(b"HTTP/1.1 307 Moved\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with raw_server(redirects) as url, lean() as client:
        reply = await client.post(f"{url}/dr", b'{"a":1}', {"X-Probe": "yes"})
    assert reply == Reply(307, b"")
    [request] = seen
    head = request.decode().lower()
    assert head.startswith("post /dr http/1.1")
    assert "x-probe: yes" in head and "user-agent: t/1" in head
    # No cookie jar, no compression asked for: the request carries only what we set.
    assert "accept-encoding" not in head and "cookie" not in head
    assert request.endswith(b'{"a":1}')


async def test_lean_reads_chunked_answers_and_honours_connection_close(lean: Lean) -> None:
    connections = 0

    async def chunked_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    async with raw_server(chunked_then_close) as url, lean() as client:
        for _ in range(3):
            assert await client.post(url, b"{}", {}) == Reply(200, b"hello world")
    # The server closed each connection: every request opened its own.
    assert connections == 3


async def test_lean_cuts_a_huge_answer_at_its_limit(lean: Lean) -> None:
    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1_000_000)
        await writer.drain()

    async with raw_server(huge) as url, lean(timeout=2.0, max_body=1000) as client:
        reply = await client.post(url, b"{}", {})
    assert (reply.status_code, len(reply.content)) == (500, 1000)


async def test_lean_keeps_connections_and_a_hanging_origin_holds_only_its_own(
    lean: Lean,
) -> None:
    connections = 0

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await answers(reader, writer)

    async with (
        raw_server(counting) as healthy,
        raw_server(never_answers) as hanging,
        lean(timeout=3.0) as client,
    ):
        # The hanging origin takes both of its connections and keeps them busy...
        stuck = [asyncio.create_task(client.post(hanging, b"{}", {})) for _ in range(4)]
        await asyncio.sleep(0.1)
        # ...while the healthy one is served on its own two, reused across rounds.
        for _ in range(3):
            replies = await asyncio.gather(*(client.post(healthy, b"{}", {}) for _ in range(8)))
            assert [r.status_code for r in replies] == [204] * 8
        assert not any(task.done() for task in stuck)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
    assert connections == 2


async def test_lean_reads_an_answer_delimited_by_the_close(lean: Lean) -> None:
    async def close_delimited(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + b"to the end")
        await writer.drain()
        writer.close()

    async with raw_server(close_delimited) as url, lean() as client:
        assert await client.post(url, b"{}", {}) == Reply(200, b"to the end")


async def test_lean_never_reuses_a_connection_the_server_closed_while_idle(lean: Lean) -> None:
    connections = 0

    async def one_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        # Keep-alive by the headers, then the server closes anyway (its idle timeout).
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()

    async with raw_server(one_then_close) as url, lean() as client:
        for _ in range(3):
            assert (await client.post(url, b"{}", {})).status_code == 204
            await asyncio.sleep(0.05)  # the close reaches the client while it is idle
    assert connections == 3


async def test_lean_a_request_that_cannot_get_a_connection_in_time_sent_nothing(
    lean: Lean,
) -> None:
    async with (
        raw_server(never_answers) as url,
        lean(timeout=2.0, connect_timeout=0.3, per_origin=1) as client,
    ):
        stuck = asyncio.create_task(client.post(url, b"{}", {}))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.ConnectTimeout):
            await client.post(url, b"{}", {})
        stuck.cancel()
        await asyncio.gather(stuck, return_exceptions=True)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("http://127.0.0.1:9/a X-Evil: 1", {}),
        ("http://127.0.0.1:9/", {"X-A": "b\r\nX-Evil: 1"}),
        ("http://127.0.0.1:9/", {"X-A\r\nX-Evil": "1"}),
    ],
)
async def test_lean_refuses_a_request_a_line_break_would_split(
    url: str, headers: dict[str, str]
) -> None:
    client = LeanClient(timeout=1.0)
    try:
        with pytest.raises(httpx.LocalProtocolError):
            await client.post(url, b"{}", headers)
    finally:
        await client.aclose()


def test_lean_works_on_uvloop() -> None:
    """`wanode serve` and `wanode worker` run on uvloop, whose transports are not asyncio's."""
    import uvloop

    async def exchange() -> list[int]:
        async with raw_server(answers) as url:
            client = LeanClient(timeout=2.0)
            try:
                return [(await client.post(url, b"{}", {})).status_code for _ in range(3)]
            finally:
                await client.aclose()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(exchange()) == [204, 204, 204]
