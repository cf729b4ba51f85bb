"""NotifyClient against a real HTTP receiver (Starlette served by uvicorn on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from wanode.notify import Attempt, NotifyClient, Outcome, classify

BODY = b'{"deliveryInfoNotification":{}}'


@dataclass
class Receiver:
    base: str
    seen: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    rx = Receiver(base=f"http://{host}:{port}")

    async def record(request: Request) -> None:
        rx.seen.append((request.url.path, await request.body(), dict(request.headers)))

    async def status(request: Request) -> Response:
        await record(request)
        return Response("receiver's body", status_code=int(request.path_params["code"]))

    async def slow(request: Request) -> Response:
        await record(request)
        await asyncio.sleep(1.0)
        return Response("late")

    async def moved(request: Request) -> Response:
        await record(request)
        return RedirectResponse(f"{rx.base}/status/200", status_code=307)

    app = Starlette(
        routes=[
            Route("/status/{code:int}", status, methods=["POST"]),
            Route("/slow", slow, methods=["POST"]),
            Route("/moved", moved, methods=["POST"]),
        ]
    )
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):  # bounded: a receiver that cannot start fails the test, not hangs it
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "receiver did not start"
    yield rx
    server.should_exit = True
    await task


@pytest.fixture
async def client() -> AsyncIterator[NotifyClient]:
    notify = NotifyClient(timeout=0.3)
    yield notify
    await notify.aclose()


async def test_200_is_delivered_with_body_and_headers(
    receiver: Receiver, client: NotifyClient
) -> None:
    attempt = await client.post(
        f"{receiver.base}/status/200", BODY, headers={"x-hub-signature": "sha256=ab"}
    )
    assert attempt == Attempt(Outcome.DELIVERED, 200, None)
    [(path, body, headers)] = receiver.seen
    assert (path, body) == ("/status/200", BODY)
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "wanode/0.1"
    assert headers["x-hub-signature"] == "sha256=ab"


async def test_404_gives_up(receiver: Receiver, client: NotifyClient) -> None:
    attempt = await client.post(f"{receiver.base}/status/404", BODY)
    assert attempt == Attempt(Outcome.GIVE_UP, 404, "HTTP 404")


async def test_500_is_retried_and_the_body_is_not_reported(
    receiver: Receiver, client: NotifyClient
) -> None:
    attempt = await client.post(f"{receiver.base}/status/500", BODY)
    assert attempt == Attempt(Outcome.RETRY, 500, "HTTP 500")
    assert "receiver's body" not in repr(attempt)


async def test_redirect_is_not_followed(receiver: Receiver, client: NotifyClient) -> None:
    attempt = await client.post(f"{receiver.base}/moved", BODY)
    assert attempt == Attempt(Outcome.GIVE_UP, 307, "HTTP 307")
    assert [path for path, _, _ in receiver.seen] == ["/moved"]


async def test_slow_receiver_is_retried(receiver: Receiver, client: NotifyClient) -> None:
    attempt = await client.post(f"{receiver.base}/slow", BODY)
    assert attempt == Attempt(Outcome.RETRY, None, "ReadTimeout")


async def test_connection_refused_is_retried(client: NotifyClient) -> None:
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # bound, never listened: nothing accepts on this port
    attempt = await client.post(f"http://127.0.0.1:{port}/dr", BODY)
    assert attempt == Attempt(Outcome.RETRY, None, "ConnectError")


@pytest.mark.parametrize(
    "url", ["not a url", "ftp://example.com/dr", "http://", "mailto:a@b.c", "http://[::1/dr", ""]
)
async def test_unusable_url_gives_up_without_raising(client: NotifyClient, url: str) -> None:
    assert await client.post(url, BODY) == Attempt(Outcome.GIVE_UP, None, "invalid URL")


async def test_mock_transport_is_used() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429)

    notify = NotifyClient(transport=httpx.MockTransport(handler), user_agent="probe/1")
    try:
        attempt = await notify.post("https://dr.example.com/hook", BODY)
    finally:
        await notify.aclose()
    assert attempt == Attempt(Outcome.RETRY, 429, "HTTP 429")
    assert seen[0].headers["user-agent"] == "probe/1"


# reference/webex-connect.md §3: "No retry for these HTTP responses: 202-208, 226, 300-308,
# 400, 402, 404-411, 414-416, 418, 505".
NO_RETRY_ACCEPTED = [*range(202, 209), 226]
NO_RETRY_FINAL = [*range(300, 309), 400, 402, *range(404, 412), *range(414, 417), 418, 505]


@pytest.mark.parametrize("code", [200, 201, *NO_RETRY_ACCEPTED, 299])
def test_classify_delivered(code: int) -> None:
    assert classify(code) is Outcome.DELIVERED


@pytest.mark.parametrize("code", NO_RETRY_FINAL)
def test_classify_give_up(code: int) -> None:
    assert classify(code) is Outcome.GIVE_UP


@pytest.mark.parametrize(
    "code", [100, 309, 401, 403, 412, 413, 417, 419, 425, 429, 451, 500, 502, 503, 504, 506, 599]
)
def test_classify_retry(code: int) -> None:
    assert classify(code) is Outcome.RETRY
