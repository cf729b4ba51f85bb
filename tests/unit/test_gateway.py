"""The cloud adapter against the sandbox over real loopback HTTP, and its error translation."""

from __future__ import annotations

import httpx
import pytest
import respx
from tests.support.receiver import free_port, serve_app

from wanode.gateway import (
    Accepted,
    CloudGateway,
    Credentials,
    GatewayError,
    MemoryGateway,
    Rejected,
)
from wanode.messages import Text, render_payload
from wanode.sandbox import BusinessNumber, HandsetConfig, Sandbox, SandboxConfig

pytestmark = pytest.mark.asyncio

CREDS = Credentials(phone_number_id="106540352242922", access_token="tok", waba_id="1")


async def test_cloud_adapter_over_http_to_the_sandbox() -> None:
    sandbox = Sandbox(
        SandboxConfig(default_handset=HandsetConfig(sent_delay=0, delivered_delay=0, read_delay=0))
    )
    sandbox.provision(
        BusinessNumber(
            phone_number_id=CREDS.phone_number_id,
            waba_id="1",
            display_phone_number="15550783881",
            access_token="tok",
            app_secret="secret",
            webhook_url=None,
        )
    )
    port = free_port()
    gateway = CloudGateway(f"http://127.0.0.1:{port}", "v23.0", timeout=5)
    try:
        async with serve_app(sandbox.app, port):
            result = await gateway.send(CREDS, render_payload(Text("hi"), "+49 151 1234 5678"))
            assert isinstance(result, Accepted)
            assert result.wa_id == "4915112345678" and result.wamid.startswith("wamid.")

            bad_token = await gateway.send(
                Credentials(CREDS.phone_number_id, "wrong"),
                render_payload(Text("hi"), "4915112345678"),
            )
            assert isinstance(bad_token, Rejected)
            assert (bad_token.code, bad_token.http_status, bad_token.retryable) == (190, 401, False)

            bad_payload = await gateway.send(
                CREDS, {"messaging_product": "whatsapp", "type": "text"}
            )
            assert isinstance(bad_payload, Rejected) and bad_payload.code == 131008
    finally:
        await gateway.aclose()
        await sandbox.aclose()


async def test_unreachable_gateway_is_a_retryable_error() -> None:
    gateway = CloudGateway(f"http://127.0.0.1:{free_port()}", timeout=2)
    try:
        with pytest.raises(GatewayError) as caught:
            await gateway.send(CREDS, render_payload(Text("hi"), "4915112345678"))
        assert not caught.value.ambiguous
    finally:
        await gateway.aclose()


@respx.mock
async def test_meta_errors_are_translated() -> None:
    base = "https://graph.example"
    route = respx.post(f"{base}/v23.0/{CREDS.phone_number_id}/messages")
    gateway = CloudGateway(base)
    payload = render_payload(Text("hi"), "4915112345678")
    try:
        route.mock(
            return_value=httpx.Response(
                400,
                json={
                    "error": {
                        "message": "(#131056) pair rate limit",
                        "type": "OAuthException",
                        "code": 131056,
                        "error_data": {"details": "too many"},
                    }
                },
            )
        )
        limited = await gateway.send(CREDS, payload)
        assert isinstance(limited, Rejected) and limited.retryable and limited.details == "too many"

        route.mock(return_value=httpx.Response(502, text="bad gateway"))
        with pytest.raises(GatewayError) as caught:
            await gateway.send(CREDS, payload)
        assert caught.value.ambiguous

        route.mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(GatewayError) as caught:
            await gateway.send(CREDS, payload)
        assert caught.value.ambiguous
    finally:
        await gateway.aclose()


async def test_memory_gateway_records_and_replays_a_script() -> None:
    gateway = MemoryGateway()
    gateway.script.append(Rejected(131047, "Re-engagement message", "", 400, False))
    first = await gateway.send(CREDS, {"to": "+49 151"})
    second = await gateway.send(CREDS, {"to": "+49 151"})
    assert isinstance(first, Rejected) and isinstance(second, Accepted)
    assert second.wa_id == "49151" and len(gateway.sent) == 2
