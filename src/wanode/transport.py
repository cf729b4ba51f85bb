"""wanode's HTTP clients: the lean path for the hot requests, and the transport beneath httpx.

Two requests make up most of a message's life: the send to the gateway and the delivery
reports to notify URLs. They go through `LeanClient` (`wanode.http1`), a keep-alive HTTP/1.1
client on an asyncio protocol and httptools' parser: httpx's Request and Response objects and
its cookie jar, and aiohttp's request machinery, cost more than the exchange itself
(`bench/RESULTS.md`). Where the caller brings an httpx transport of its own (the in-process
sandbox's ASGI app, a mock in tests), `HttpxPoster` serves the same `Poster` interface.

Cold paths (templates, media, the CLI) keep httpx, on `PooledTransport`: aiohttp's connection
pool and C parser beneath httpx's client policy. httpx's own transport (httpcore and h11, pure
Python) spent about 1.4 ms of CPU per loopback request here, aiohttp's about 0.3 ms.

Given a `wanode.guard.Guard`, both refuse what it refuses and connect only to the addresses
it approved (`LeanClient`'s resolver hook; aiohttp's `resolver=`, plus a check of IP-literal
hosts, which aiohttp does not resolve): one resolution per connection, checked, never a second.

Both paths raise httpx's exception tree, made to say whether the request may have reached the
server, which the gateway needs to know: a refused or timed-out connection sent nothing (safe
to retry), a timeout or a dropped connection after that may have (the retry may duplicate the
message).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport

from wanode.guard import Guard
from wanode.http1 import LeanClient, Reply

__all__ = ["HttpxPoster", "LeanClient", "PooledTransport", "Poster", "Reply"]

# How long an idle connection is kept open for the next request.
KEEPALIVE_SECONDS = 30.0


class PooledTransport(AiohttpTransport):
    """Up to `connections` keep-alive connections per client, shared by all its hosts; with
    `guard`, each request (each hop of a redirect) and each connection guarded."""

    def __init__(self, connections: int, *, guard: Guard | None = None) -> None:
        super().__init__(
            limits=httpx.Limits(
                max_connections=connections,
                max_keepalive_connections=connections,
                keepalive_expiry=KEEPALIVE_SECONDS,
            ),
            trust_env=False,
        )
        self._guard = guard

    def get_client(self) -> aiohttp.ClientSession:
        if self._guard is None:
            return super().get_client()
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            limit=self.limits.max_connections or 0,
            resolver=GuardedResolver(self._guard),
        )
        return aiohttp.ClientSession(connector=connector)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._guard is not None:
            # aiohttp connects to an IP-literal host without asking the resolver.
            self._guard.check_literal(request.url.host)
        with _precise_errors():
            response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _PreciseStream(response.stream)
        return response


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, through a guard: a name's addresses, every one approved (the
    connector then connects to them, the name kept for TLS)."""

    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in await self._guard.addresses(host, port)
        ]

    async def close(self) -> None:
        return None


class _PreciseStream(httpx.AsyncByteStream):
    """The response body, with the same error mapping while it is read."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _precise_errors():
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        with _precise_errors():
            await self._inner.aclose()


@contextmanager
def _precise_errors() -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as exc:
        precise = _precise(exc)
        if precise is None:
            raise
        raise precise from exc.__cause__


def _precise(exc: httpx.TransportError) -> httpx.TransportError | None:
    """The httpx error that says what aiohttp's (the cause of `exc`) meant, when the generic
    mapping says less: a connect timeout is not a read timeout, and a connection the server
    closed is not a connect failure."""
    cause = exc.__cause__
    message = str(cause) or type(cause).__name__
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(cause, aiohttp.SocketTimeoutError | aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(cause, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        return httpx.ReadError(message)
    return None


class Poster(Protocol):
    """POSTs bytes and returns the answer; failures are httpx's `TransportError`s, with the
    meaning `_precise` gives them (may the request have reached the server?)."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply: ...

    async def aclose(self) -> None: ...


class HttpxPoster:
    """`Poster` over an httpx client: for a transport of the caller's (the in-process sandbox's
    ASGI app, a mock in tests), where the lean path cannot go."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        response = await self._client.post(url, content=body, headers=headers)
        return Reply(response.status_code, response.content)

    async def aclose(self) -> None:
        await self._client.aclose()
