"""Lean HTTP/1.1 over loopback for the load side of the benchmark: a keep-alive client and a
notify receiver.

Both sides of a loopback benchmark share two cores, so the load generator and the DR receiver
must cost as little as possible: what they spend is taken from the server being measured.
These speak just enough HTTP/1.1 (Content-Length bodies, keep-alive) for wanode's API and its
notifier; the sandbox ceiling and the pywa peer use httpx, as a real client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

_END = b"\r\n\r\n"


class HttpError(RuntimeError):
    pass


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"host: {self._host}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        lines.append(f"content-length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self._reader.readuntil(_END)
        status_line, _, rest = head.partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        chunked = False
        for line in rest.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            return status, await self._chunked()
        return status, await self._reader.readexactly(length) if length else b""

    async def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class Pool:
    """At most `size` connections to one server, reused; a request waits for a free one."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self._host = host
        self._port = port
        self._free: asyncio.Queue[Connection] = asyncio.Queue()
        self._slots = asyncio.Semaphore(size)
        self._all: list[Connection] = []

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        async with self._slots:
            conn = self._free.get_nowait() if not self._free.empty() else None
            if conn is None:
                conn = await Connection.open(self._host, self._port)
                self._all.append(conn)
            try:
                answer = await conn.request(method, path, body, headers)
            except BaseException:
                self._all.remove(conn)
                await conn.close()
                raise
            self._free.put_nowait(conn)
            return answer

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()
        self._all.clear()


# A message's DRs in the order its life produces them: submitted (sent), delivered, read.
LIFECYCLE = ("7501", "7500", "7502")


@dataclass
class Tally:
    """What the receiver has seen of one run (one correlationid): DRs by code, when the last of
    each code arrived, when each message's first DR of each code arrived, and each message's
    codes (by transid) in the order they arrived."""

    by_code: dict[str, int] = field(default_factory=dict)
    last_at: dict[str, float] = field(default_factory=dict)
    total: int = 0
    codes: dict[str, list[str]] = field(default_factory=dict)
    first: dict[tuple[str, str], float] = field(default_factory=dict)

    def add(self, code: str, at: float, transid: str = "") -> None:
        self.by_code[code] = self.by_code.get(code, 0) + 1
        self.last_at[code] = at
        self.first.setdefault((transid, code), at)
        self.total += 1
        seen = self.codes.get(transid)
        if seen is None:
            self.codes[transid] = [code]
        else:
            seen.append(code)

    def count(self, code: str) -> int:
        return self.by_code.get(code, 0)

    def problems(self, messages: int, expected: tuple[str, ...] = LIFECYCLE) -> list[str]:
        """What is wrong with the run's DRs: a message count other than `messages`, or a
        message whose DRs are not `expected` exactly (one of each, in order). Empty when all
        is well."""
        found = []
        if len(self.codes) != messages:
            found.append(f"DRs for {len(self.codes)} messages, expected {messages}")
        wanted = list(expected)
        wrong = [(transid, codes) for transid, codes in self.codes.items() if codes != wanted]
        if wrong:
            transid, codes = wrong[0]
            found.append(
                f"{len(wrong)} messages with DRs other than {wanted} (transid {transid!r}: {codes})"
            )
        return found


class Receiver:
    """A notify URL on loopback: answers every POST 200 and tallies the DRs by correlationid
    (each measurement's tag) and, within one, by code and by message."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.tallies: dict[str, Tally] = {}
        self._clock = clock
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dr"

    def tally(self, tag: str) -> Tally:
        """The DRs of run `tag` so far (an empty tally before the first)."""
        found = self.tallies.get(tag)
        if found is None:
            found = self.tallies[tag] = Tally()
        return found

    def reset(self) -> None:
        self.tallies = {}

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(_END)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                self._count(body)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _count(self, body: bytes) -> None:
        try:
            report = orjson.loads(body)["deliveryInfoNotification"]
            code = str(report["deliveryInfo"]["code"])
            transid = str(report.get("transid", ""))
            tag = str(report.get("correlationid", ""))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            code, transid, tag = "unparsed", "", ""
        self.tally(tag).add(code, self._clock(), transid)
