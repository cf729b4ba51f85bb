"""BodyLimit on its own, around small ASGI apps: what the app sees and what the client gets."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive, Scope, Send

from wanode.api.limits import BodyLimit

pytestmark = pytest.mark.asyncio


class Client:
    """Plays the server's side: feeds `chunks` to the app (waiting `pause` seconds before each
    after the first) and records what the app sends and how many chunks it pulled."""

    def __init__(self, chunks: Sequence[bytes], *, pause: float = 0.0) -> None:
        self.chunks = list(chunks)
        self.pause = pause
        self.pulled = 0
        self.sent: list[Message] = []
        self.disconnected = asyncio.Event()

    async def receive(self) -> Message:
        if self.pulled == len(self.chunks):
            await self.disconnected.wait()
            return {"type": "http.disconnect"}
        if self.pulled and self.pause:
            await asyncio.sleep(self.pause)
        self.pulled += 1
        return {
            "type": "http.request",
            "body": self.chunks[self.pulled - 1],
            "more_body": self.pulled < len(self.chunks),
        }

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.sent
        return int(starts[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def scope(path: str = "/webhooks/whatsapp", headers: Sequence[tuple[bytes, bytes]] = ()) -> Scope:
    return {"type": "http", "method": "POST", "path": path, "headers": list(headers)}


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, as Starlette does, and answers its length."""
    try:
        body = await Request(scope, receive).body()
    except ClientDisconnect:
        # What a FastAPI app does with a body it could not read: answer 400.
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"client left"})
        raise
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


async def run(
    client: Client, *, max_bytes: int = 1000, read_timeout: float = 5.0, **kw: str
) -> None:
    guard = BodyLimit(echo, max_bytes=max_bytes, read_timeout=read_timeout)
    await guard(scope(**kw), client.receive, client.send)


async def test_a_chunked_body_is_counted_and_the_rest_never_read() -> None:
    client = Client([b"x" * 100] * 1000)
    await run(client)
    assert client.status == 413
    assert orjson.loads(client.body) == {
        "error": {"code": "7004", "message": "Request body over 1000 bytes"}
    }
    # The chunk that crossed the limit was the last one pulled, and the app never saw it.
    assert client.pulled == 11
    start = client.sent[0]
    assert (b"connection", b"close") in start["headers"]


async def test_the_messaging_api_gets_its_own_error_shape() -> None:
    client = Client([b"x" * 600, b"x" * 600])
    await run(client, path="/resources/v1/messaging")
    assert client.status == 413
    assert orjson.loads(client.body)["response"]["code"] == "7004"


async def test_a_body_at_the_limit_passes_chunked_or_not() -> None:
    for chunks in ([b"x" * 1000], [b"x" * 250] * 4, [b"", b"x" * 1000, b""]):
        client = Client(chunks)
        await run(client)
        assert (client.status, client.body) == (200, b"1000")


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    client = Client([b"x" * 2000])
    await run(client, headers=[(b"content-length", b"2000")])
    assert client.status == 413 and client.pulled == 0


async def test_a_slow_body_is_answered_408() -> None:
    client = Client([b"x", b"y"], pause=1.0)
    started = asyncio.get_running_loop().time()
    await run(client, read_timeout=0.1)
    assert client.status == 408
    assert orjson.loads(client.body)["error"]["message"] == (
        "Request body not received within 0.1 s"
    )
    assert asyncio.get_running_loop().time() - started < 0.5


async def test_waiting_for_a_disconnect_after_the_body_is_not_timed() -> None:
    """A streaming response listens for the client to leave for as long as it streams."""
    waited: list[str] = []

    async def listener(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        try:
            await asyncio.wait_for(receive(), 0.3)
        except TimeoutError:
            waited.append("still connected")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = Client([b"x"])
    await BodyLimit(listener, max_bytes=10, read_timeout=0.05)(scope(), client.receive, client.send)
    assert waited == ["still connected"] and client.status == 200


async def test_an_app_already_answering_keeps_its_response() -> None:
    async def early(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 202, "headers": []})
        while (await receive())["type"] == "http.request":
            pass
        await send({"type": "http.response.body", "body": b"done"})

    client = Client([b"x" * 600] * 3)
    await BodyLimit(early, max_bytes=1000, read_timeout=5)(scope(), client.receive, client.send)
    assert (client.status, client.body) == (202, b"done")
    assert client.pulled == 2


async def test_errors_are_swallowed_only_once_the_request_is_refused() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        await BodyLimit(broken, max_bytes=10, read_timeout=5)(
            scope(), Client([b"x"]).receive, Client([]).send
        )
    # The same app, refused: its error concerns a request already answered 413.
    client = Client([b"x" * 20])
    await BodyLimit(broken, max_bytes=10, read_timeout=5)(scope(), client.receive, client.send)
    assert client.status == 413


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        raise AssertionError("not called")

    async def drop(message: Message) -> None:
        raise AssertionError("not called")

    await BodyLimit(app, max_bytes=1, read_timeout=1)({"type": "lifespan"}, nothing, drop)
    assert seen == ["lifespan"]
