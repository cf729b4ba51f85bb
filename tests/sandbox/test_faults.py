"""Injected faults (`wanode.sandbox.faults`): each kind as the gateway client sees it over a
real loopback connection, what the sandbox did with the message, and the control API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from tests.sandbox.bench import FAST, NUMBER, USER, Bench, Receiver, text_payload
from tests.support.receiver import free_port, serve_app

from wanode.cli.bootstrap import build_sandbox
from wanode.config import Settings
from wanode.gateway import Accepted, Credentials, GatewayError, Rejected
from wanode.gateway.cloud import CloudGateway
from wanode.sandbox import Sandbox, SandboxConfig
from wanode.sandbox.faults import FAULT_KINDS, Faults, parse_kinds

pytestmark = pytest.mark.asyncio

CREDS = Credentials(NUMBER.phone_number_id, NUMBER.access_token, NUMBER.waba_id)
# The client gives up after TIMEOUT; an injected timeout holds the request longer.
TIMEOUT, HANG = 0.5, 1.5


@pytest.fixture
async def served(receiver: Receiver) -> AsyncIterator[tuple[Sandbox, str]]:
    """A sandbox behind uvicorn on loopback (resets need a real socket), webhooks in-process."""
    sandbox = Sandbox(
        SandboxConfig(default_handset=FAST, enforce_window=False, fault_hang=HANG),
        webhook_transport=httpx.ASGITransport(app=receiver.app),
    )
    sandbox.provision(NUMBER)
    port = free_port()
    async with serve_app(sandbox.app, port):
        yield sandbox, f"http://127.0.0.1:{port}"
    await sandbox.aclose()


async def send_with_fault(sandbox: Sandbox, url: str, kind: str, key: str) -> Any:
    sandbox.faults.configure(1.0, kind, seed=1, hang=HANG)
    gateway = CloudGateway(url, timeout=TIMEOUT)
    try:
        return await gateway.send(CREDS, text_payload("hi"), idempotency_key=key)
    except GatewayError as exc:
        return exc
    finally:
        await gateway.aclose()
        sandbox.faults.configure(0.0)


@pytest.mark.parametrize(
    ("kind", "code", "http_status"),
    [("server_error", 131000, 500), ("unavailable", 2, 503), ("rate_limit", 130429, 400)],
)
async def test_error_faults_are_graph_errors_worth_retrying(
    served: tuple[Sandbox, str], kind: str, code: int, http_status: int
) -> None:
    sandbox, url = served
    result = await send_with_fault(sandbox, url, kind, f"k-{kind}")
    assert isinstance(result, Rejected)
    assert (result.code, result.http_status, result.retryable) == (code, http_status, True)
    assert sandbox.receive_log.entries(None) == []  # nothing was sent


@pytest.mark.parametrize("kind", ["timeout_before", "reset_before"])
async def test_faults_before_accepting_send_nothing(served: tuple[Sandbox, str], kind: str) -> None:
    sandbox, url = served
    result = await send_with_fault(sandbox, url, kind, "k1")
    # The client cannot tell: the request was written, no answer came.
    assert isinstance(result, GatewayError) and result.ambiguous, result
    await asyncio.sleep(HANG + 0.2)
    assert sandbox.receive_log.entries(None) == []
    # The retry goes through as a first send.
    gateway = CloudGateway(url, timeout=TIMEOUT)
    accepted = await gateway.send(CREDS, text_payload("hi"), idempotency_key="k1")
    await gateway.aclose()
    assert isinstance(accepted, Accepted)
    assert sandbox.receive_log.replays(None) == []


@pytest.mark.parametrize("kind", ["timeout_after", "reset_after"])
async def test_faults_after_accepting_deliver_the_message(
    served: tuple[Sandbox, str], kind: str
) -> None:
    sandbox, url = served
    result = await send_with_fault(sandbox, url, kind, "k1")
    assert isinstance(result, GatewayError) and result.ambiguous, result
    [entry] = sandbox.receive_log.entries(None)
    assert entry.idempotency_key == "k1"
    # The retry with the same key is answered with the first wamid and logged as a replay.
    gateway = CloudGateway(url, timeout=TIMEOUT)
    accepted = await gateway.send(CREDS, text_payload("hi"), idempotency_key="k1")
    await gateway.aclose()
    assert isinstance(accepted, Accepted) and accepted.wamid == entry.wamid
    assert [r.idempotency_key for r in sandbox.receive_log.replays(None)] == ["k1"]


async def test_a_reset_is_a_reset_not_an_answer(served: tuple[Sandbox, str]) -> None:
    sandbox, url = served
    sandbox.faults.configure(1.0, "reset_before")
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = b'{"messaging_product":"whatsapp","to":"%s","type":"text","text":{"body":"x"}}' % (
        USER.encode()
    )
    writer.write(
        b"POST /v23.0/%s/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (NUMBER.phone_number_id.encode(), NUMBER.access_token.encode(), len(body), body)
    )
    await writer.drain()
    # No answer, not even a clean close (FIN): a reset.
    with pytest.raises(ConnectionResetError):
        await reader.read(1024)
    writer.close()


async def test_the_rate_injects_about_that_share_and_the_seed_repeats_it() -> None:
    faults = Faults(0.2, seed=7)
    draws = [faults.draw() for _ in range(5000)]
    hit = [d for d in draws if d is not None]
    assert 800 < len(hit) < 1200
    assert set(hit) == set(FAULT_KINDS)  # every kind, alike by default
    assert sum(faults.injected.values()) == len(hit)
    again = Faults(0.2, seed=7)
    assert [again.draw() for _ in range(5000)] == draws
    assert Faults(0.0).draw() is None


async def test_kinds_take_weights_and_refuse_unknown_names() -> None:
    assert parse_kinds("server_error, reset_before:2") == {"server_error": 1, "reset_before": 2}
    assert parse_kinds("") == dict.fromkeys(FAULT_KINDS, 1.0)
    with pytest.raises(ValueError, match="unknown fault 'boom'"):
        parse_kinds("boom")
    with pytest.raises(ValueError, match="weight of reset_after"):
        parse_kinds("reset_after:-1")
    with pytest.raises(ValueError, match="positive weight"):
        parse_kinds("reset_after:0")


async def test_the_control_api_sets_and_reports_faults(bench: Bench) -> None:
    answer = await bench.client.put(
        "/faults", json={"rate": 1, "kinds": ["unavailable"], "seed": 3, "hang": 2}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["kinds"] == {"unavailable": 1.0}
    refused = await bench.send()
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == 2 and error["message"] == "(#2) API Service"
    assert error["error_data"]["messaging_product"] == "whatsapp" and error["fbtrace_id"]
    state = (await bench.client.get("/faults")).json()
    assert state["injected"]["unavailable"] == 1 and state["rate"] == 1 and state["seed"] == 3
    assert (await bench.client.put("/faults", json={"rate": 0})).status_code == 200
    assert (await bench.send()).status_code == 200


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"rate": 2}, "rate must be between 0 and 1"),
        ({}, "rate is required"),
        ({"rate": 0.1, "kinds": ["nope"]}, "unknown fault 'nope'"),
        ({"rate": 0.1, "seed": "x"}, "seed must be a whole number"),
        ({"rate": 0.1, "hang": -1}, "hang must be"),
        ({"rate": 0.1, "extra": 1}, "unknown field 'extra'"),
    ],
)
async def test_the_control_api_refuses_bad_settings(
    bench: Bench, body: dict[str, Any], says: str
) -> None:
    answer = await bench.client.put("/faults", json=body)
    assert answer.status_code == 400
    assert says in answer.json()["error"]["message"]


async def test_the_settings_configure_the_sandbox_and_refuse_unknown_faults() -> None:
    settings = Settings(
        sandbox_fault_rate=0.2,
        sandbox_fault_kinds="unavailable,reset_after:3",
        sandbox_fault_seed=5,
        sandbox_fault_hang=4,
    )
    faults = build_sandbox(settings).faults.as_json()
    assert (faults["rate"], faults["seed"], faults["hang"]) == (0.2, 5, 4.0)
    assert faults["kinds"] == {"unavailable": 1.0, "reset_after": 3.0}
    with pytest.raises(ValidationError, match="sandbox_fault_kinds") as refused:
        Settings(sandbox_fault_kinds="unavailable,boom")
    assert "unknown fault 'boom'" in str(refused.value)
    with pytest.raises(ValidationError, match="sandbox_fault_rate"):
        Settings(sandbox_fault_rate=1.5)
