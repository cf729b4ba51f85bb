"""Webhook signing and delivery: retries with backoff, dropping, and real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from tests.sandbox.bench import FAST, NUMBER, USER, Bench, Receiver, text_payload

from wanode.sandbox import Sandbox, SandboxConfig, sign


def test_sign_is_hmac_sha256_of_the_exact_bytes() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    expected = hmac.new(b"secret", body, hashlib.sha256).hexdigest()

    assert sign(body, "secret") == f"sha256={expected}"
    assert sign(body + b" ", "secret") != sign(body, "secret")
    assert sign(body, "other") != sign(body, "secret")


async def test_a_failing_receiver_gets_the_webhook_after_retries(bench: Bench) -> None:
    bench.receiver.failures = [500, 500]

    wamid = (await bench.send()).json()["messages"][0]["id"]
    await bench.settle()

    assert bench.receiver.attempts == 5  # two refusals, then sent, delivered, read
    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent", "delivered", "read"]


async def test_a_webhook_is_dropped_after_the_last_retry(bench: Bench) -> None:
    bench.receiver.failures = [503] * 4  # the first attempt and all three retries

    wamid = (await bench.send()).json()["messages"][0]["id"]
    await bench.settle()

    assert bench.receiver.attempts == 6
    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["delivered", "read"]


async def test_reprovisioning_redirects_and_resigns_webhooks(bench: Bench) -> None:
    rotated = NUMBER.__class__(**{**NUMBER.__dict__, "app_secret": "rotated"})
    bench.receiver.secret = "rotated"
    bench.sandbox.provision(rotated)

    await bench.send()
    await bench.settle()

    assert len(bench.receiver.statuses()) == 3


async def test_connection_errors_are_retried_then_dropped() -> None:
    port = _free_port()
    unreachable = NUMBER.__class__(
        **{**NUMBER.__dict__, "webhook_url": f"http://127.0.0.1:{port}/webhooks/whatsapp"}
    )
    config = SandboxConfig(
        default_handset=FAST, webhook_retries=1, webhook_retry_base=0.0, enforce_window=False
    )
    sandbox = Sandbox(config)
    sandbox.provision(unreachable)
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        response = await client.post(
            f"/v23.0/{NUMBER.phone_number_id}/messages",
            json=text_payload("hi"),
            headers={"Authorization": "Bearer tok"},
        )
        await asyncio.wait_for(sandbox.drain(), timeout=5)
    await sandbox.aclose()

    assert response.status_code == 200


@pytest.fixture
async def served_receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """The receiver behind a real uvicorn server on a loopback port."""
    receiver = Receiver(NUMBER.app_secret)
    config = uvicorn.Config(receiver.app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn stopped before it started"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield receiver, f"http://127.0.0.1:{port}/webhooks/whatsapp"
    server.should_exit = True
    await asyncio.wait_for(task, timeout=5)


async def test_webhooks_reach_a_real_http_server(served_receiver: tuple[Receiver, str]) -> None:
    receiver, url = served_receiver
    sandbox = Sandbox(SandboxConfig(default_handset=FAST, enforce_window=False))
    sandbox.provision(NUMBER.__class__(**{**NUMBER.__dict__, "webhook_url": url}))
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        response = await client.post(
            f"/v23.0/{NUMBER.phone_number_id}/messages",
            json=text_payload("hi", to=f"+{USER}"),
            headers={"Authorization": "Bearer tok"},
        )
        await asyncio.wait_for(sandbox.drain(), timeout=5)
    await sandbox.aclose()

    wamid = response.json()["messages"][0]["id"]
    assert [s["status"] for s in receiver.statuses(wamid)] == ["sent", "delivered", "read"]
    assert receiver.bad_signatures == 0
    assert receiver.openapi_errors() == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
