"""A keep-alive HTTP/1.1 client for the hot path: POST bytes, get the status and the body.

A message's life is four POSTs (the send and three delivery reports). aiohttp's client spent
about 0.15 ms of CPU on each here, most of it in request and response objects, header multidicts
and tracing hooks that a POST of a prepared JSON body to a known origin does not need; this
client is an asyncio protocol over a socket with httptools' (llhttp's) parser, the one uvicorn
uses on the server side (`bench/RESULTS.md` has the comparison).

What it does: keep-alive connections pooled per origin, at most `per_origin` open; requests
queue for a connection; content-length, chunked and close-delimited answers; `Connection:
close`; a connection the server closed while idle is never reused; a connect timeout (which
covers the wait for a pooled connection: nothing was sent) and a timeout for the answer; TLS
through `ssl`; a resolver hook (`resolve`: the connection goes to the addresses it answers,
the name kept for Host and TLS, which is how `wanode.guard` pins resolution); no redirects,
cookies, compression or proxies. Its errors are httpx's, with the
meaning `wanode.transport` documents: a failure before the request was written says nothing was
sent (ConnectError, ConnectTimeout), one after it says it may have been (ReadError,
ReadTimeout).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools
import httpx

# How long an idle connection is kept for the next request: under the 5 s that uvicorn (the
# sandbox's server, and many notify URLs' servers) keeps one. A POST written to a connection
# the server has just closed fails after it may have been sent, which makes a send ambiguous;
# reopening one after 4 idle seconds costs nothing a busy client notices.
KEEPALIVE_SECONDS = 4.0


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: the status and the body's bytes (cut at the client's `max_body`)."""

    status_code: int
    content: bytes


@dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]
    head: bytes  # "POST <path> HTTP/1.1\r\nHost: <host>\r\n"


@functools.lru_cache(maxsize=1024)
def _target(url: str) -> _Target:
    """Parsed once per URL: a campaign's requests go to a handful of them."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise httpx.InvalidURL(str(exc)) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise httpx.UnsupportedProtocol(f"not an absolute http(s) URL: {url!r}")
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname
    authority = host if ":" not in host else f"[{host}]"
    if port is not None and port != default:
        authority = f"{authority}:{port}"
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    if any(c <= " " or c == "\x7f" for c in path + authority):
        raise httpx.LocalProtocolError(f"white space or a control character in {url!r}")
    head = f"POST {path} HTTP/1.1\r\nHost: {authority}\r\n"
    return _Target((parts.scheme, host, port or default), head.encode("ascii"))


def _encode(headers: Mapping[str, str]) -> bytes:
    """Header lines; a CR or LF in a name or value (it would split the request) is refused."""
    lines = []
    for name, value in headers.items():
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
            raise httpx.LocalProtocolError(f"CR, LF or a colon in header {name!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


class _Connection(asyncio.Protocol):
    """One socket; one request at a time."""

    def __init__(self, origin: _Origin) -> None:
        self._origin = origin
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Reply] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._body: list[bytes] = []
        self._size = 0
        self._limit = 0
        self._delimited = False  # the answer says how long its body is
        self._headers_done = False
        self._reusable = False
        self.closed = False
        self.idle_since = 0.0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they have its methods.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._parser is None:
            # Bytes nobody asked for (a server talking on an idle connection): not HTTP we
            # can follow any further.
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed answer: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._parser is not None and self._headers_done and not self._delimited:
            # A body delimited by the end of the connection: that end is its end.
            self._complete()
        else:
            self._fail(httpx.ReadError("the server closed the connection before answering"))
        self._origin.closed(self)

    # httptools' callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self._delimited = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        room = self._limit - self._size
        if room <= 0:
            return
        self._body.append(body[:room])
        self._size += min(len(body), room)
        if self._size >= self._limit:
            # Enough: the rest of a huge answer is not read, and the connection goes.
            self._reusable = False
            self._complete()
            self.close()

    def on_message_complete(self) -> None:
        assert self._parser is not None
        self._reusable = self._parser.should_keep_alive()
        self._complete()

    # the client's side

    async def request(self, head: bytes, body: bytes, *, answer_within: float, limit: int) -> Reply:
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Reply] = loop.create_future()
        self._waiter = waiter
        self._parser = httptools.HttpResponseParser(self)
        self._body, self._size, self._limit = [], 0, limit
        self._delimited = self._headers_done = self._reusable = False
        self._transport.writelines((head, body))
        late = loop.call_later(answer_within, self._timed_out)
        try:
            return await waiter
        finally:
            late.cancel()
            self._waiter = None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._transport is not None:
                self._transport.close()
            self._origin.closed(self)

    @property
    def reusable(self) -> bool:
        return self._reusable and not self.closed

    def _timed_out(self) -> None:
        self._fail(httpx.ReadTimeout("no answer in time"))
        if self._transport is not None:
            self._transport.abort()
        self.close()

    def _complete(self) -> None:
        parser, waiter = self._parser, self._waiter
        self._parser = None
        if parser is not None and waiter is not None and not waiter.done():
            waiter.set_result(Reply(parser.get_status_code(), b"".join(self._body)))

    def _fail(self, exc: Exception) -> None:
        self._parser = None
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)


class _Origin:
    """The connections to one (scheme, host, port): idle ones, and requests waiting for one."""

    def __init__(self, key: tuple[str, str, int], client: LeanClient) -> None:
        self._scheme, self._host, self._port = key
        self._client = client
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._waiting: deque[asyncio.Future[None]] = deque()

    def take_idle(self) -> _Connection | None:
        """A kept-alive connection still fit to use, if there is one."""
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < self._client.keepalive:
                return connection
            connection.close()
        return None

    async def acquire(self) -> _Connection:
        """A connection: a kept-alive one, a new one, or the next one freed."""
        idle = self.take_idle()
        if idle is not None:
            return idle
        if len(self._open) >= self._client.per_origin:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiting:
                    self._waiting.remove(waiter)
                elif not waiter.cancelled():
                    self._wake()  # it was handed a turn it cannot take: pass it on
                raise
            return await self.acquire()
        connection = _Connection(self)
        self._open.add(connection)
        try:
            await self._connect(connection)
        except BaseException:
            self.closed(connection)
            raise
        return connection

    async def _connect(self, connection: _Connection) -> None:
        loop = asyncio.get_running_loop()
        tls = self._client.tls if self._scheme == "https" else None
        resolve = self._client.resolve
        if resolve is None:
            await loop.create_connection(lambda: connection, self._host, self._port, ssl=tls)
            return
        # One resolution; the connection goes to an address it answered, the name kept for
        # TLS (Host is in the request head already).
        addresses = await resolve(self._host, self._port)
        failure: OSError = OSError(f"{self._host} has no address")
        for address in addresses:
            try:
                await loop.create_connection(
                    lambda: connection,
                    address,
                    self._port,
                    ssl=tls,
                    server_hostname=self._host if tls is not None else None,
                )
                return
            except OSError as exc:
                failure = exc
        raise failure

    def release(self, connection: _Connection) -> None:
        if connection.reusable:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        self._wake()

    def closed(self, connection: _Connection) -> None:
        if connection in self._open:
            self._open.discard(connection)
            self._wake()

    def close_all(self) -> None:
        for connection in [*self._open]:
            connection.close()
        self._idle.clear()

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class LeanClient:
    """POSTs to any number of origins, `per_origin` connections each at most.

    `timeout` bounds the answer once the request is written; `connect_timeout` the wait for a
    connection (pooled or new). `headers` go on every request. `resolve`, when given, answers
    the addresses a new connection may go to (once per connection); what it raises propagates
    as is (a `wanode.guard.PrivateAddress`), except OSError, a `ConnectError`.
    """

    def __init__(
        self,
        *,
        timeout: float,
        connect_timeout: float | None = None,
        per_origin: int = 16,
        headers: Mapping[str, str] | None = None,
        max_body: int = 1024 * 1024,
        keepalive: float = KEEPALIVE_SECONDS,
        resolve: Callable[[str, int], Awaitable[Sequence[str]]] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.timeout = timeout
        self.resolve = resolve
        self.connect_timeout = min(connect_timeout or timeout, timeout)
        self.per_origin = per_origin
        self.keepalive = keepalive
        self.max_body = max_body
        self.tls = tls if tls is not None else ssl.create_default_context()
        self._headers = _encode(headers or {})
        self._origins: dict[tuple[str, str, int], _Origin] = {}

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        target = _target(url)
        head = b"".join(
            (
                target.head,
                self._headers,
                _encode(headers) if headers else b"",
                b"Content-Length: %d\r\n\r\n" % len(body),
            )
        )
        origin = self._origins.get(target.origin)
        if origin is None:
            origin = self._origins[target.origin] = _Origin(target.origin, self)
        connection = origin.take_idle()
        try:
            if connection is None:
                connection = await asyncio.wait_for(origin.acquire(), self.connect_timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("no connection in time") from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        try:
            return await connection.request(
                head, body, answer_within=self.timeout, limit=self.max_body
            )
        finally:
            origin.release(connection)

    async def aclose(self) -> None:
        for origin in self._origins.values():
            origin.close_all()
        self._origins.clear()
