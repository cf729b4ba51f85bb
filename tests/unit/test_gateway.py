"""The cloud adapter against the sandbox (over real loopback HTTP, and in-process), its error
translation, and the memory fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from tests.support.receiver import free_port, serve_app

from wanode.gateway import (
    Accepted,
    CloudGateway,
    Credentials,
    GatewayError,
    MediaRejected,
    MemoryGateway,
    Rejected,
)
from wanode.messages import Image, Text, render_payload
from wanode.sandbox import BusinessNumber, HandsetConfig, Sandbox, SandboxConfig

pytestmark = pytest.mark.asyncio

CREDS = Credentials(phone_number_id="106540352242922", access_token="tok", waba_id="1")
USER = "4915112345678"
JPEG = b"\xff\xd8\xff\xe0" + bytes(512)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
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
    yield sandbox
    await sandbox.aclose()


@pytest.fixture
async def gateway(sandbox: Sandbox) -> AsyncIterator[CloudGateway]:
    gateway = CloudGateway("http://sandbox", transport=httpx.ASGITransport(app=sandbox.app))
    yield gateway
    await gateway.aclose()


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


async def test_meta_errors_are_translated() -> None:
    base = "https://graph.example"
    graph = respx.MockRouter()
    route = graph.post(f"{base}/v23.0/{CREDS.phone_number_id}/messages")
    gateway = CloudGateway(base, transport=httpx.MockTransport(graph.async_handler))
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


async def test_upload_media_then_send_it_by_id(sandbox: Sandbox, gateway: CloudGateway) -> None:
    media_id = await gateway.upload_media(CREDS, JPEG, "image/jpeg", "cat.jpg")

    stored = sandbox.media.get(media_id)
    assert stored is not None
    assert (stored.data, stored.mime_type, stored.filename) == (JPEG, "image/jpeg", "cat.jpg")
    sent = await gateway.send(CREDS, render_payload(Image(id=media_id, caption="A cat"), USER))
    assert isinstance(sent, Accepted)


@pytest.mark.parametrize(
    ("creds", "mime_type", "code", "http_status"),
    [
        (CREDS, "image/gif", 100, 400),
        (Credentials(CREDS.phone_number_id, "wrong"), "image/jpeg", 190, 401),
        (Credentials("999", "tok"), "image/jpeg", 803, 404),
    ],
)
async def test_a_refused_upload_raises_media_rejected(
    gateway: CloudGateway, creds: Credentials, mime_type: str, code: int, http_status: int
) -> None:
    with pytest.raises(MediaRejected) as caught:
        await gateway.upload_media(creds, JPEG, mime_type, "a")

    rejected = caught.value.rejected
    assert (rejected.code, rejected.http_status, rejected.retryable) == (code, http_status, False)
    assert rejected.details


@pytest.mark.parametrize("typing_indicator", [False, True])
async def test_mark_read_marks_the_thread(
    sandbox: Sandbox, gateway: CloudGateway, typing_indicator: bool
) -> None:
    first = sandbox.send_text(USER, CREDS.phone_number_id, "hello")
    second = sandbox.send_text(USER, CREDS.phone_number_id, "anyone?")

    result = await gateway.mark_read(CREDS, second, typing_indicator=typing_indicator)

    assert result is None
    handset = sandbox.handsets.get(USER)
    assert handset is not None
    assert [(m.wamid, m.read) for m in handset.sent] == [(first, True), (second, True)]


async def test_mark_read_of_a_message_never_received_is_rejected(gateway: CloudGateway) -> None:
    result = await gateway.mark_read(CREDS, "wamid.unknown")

    assert isinstance(result, Rejected)
    assert (result.code, result.http_status, result.retryable) == (100, 400, False)


@pytest.mark.parametrize("operation", ["mark_read", "upload_media"])
async def test_an_unreachable_gateway_raises_for_every_operation(operation: str) -> None:
    gateway = CloudGateway(f"http://127.0.0.1:{free_port()}", timeout=2)
    calls: dict[str, Any] = {
        "mark_read": lambda: gateway.mark_read(CREDS, "wamid.1"),
        "upload_media": lambda: gateway.upload_media(CREDS, JPEG, "image/jpeg", "a.jpg"),
    }
    try:
        with pytest.raises(GatewayError) as caught:
            await calls[operation]()
        assert not caught.value.ambiguous
    finally:
        await gateway.aclose()


async def test_answers_the_sandbox_never_gives_are_gateway_errors() -> None:
    base = "https://graph.example"
    graph = respx.MockRouter()
    messages = graph.post(f"{base}/v23.0/{CREDS.phone_number_id}/messages")
    media = graph.post(f"{base}/v23.0/{CREDS.phone_number_id}/media")
    gateway = CloudGateway(base, transport=httpx.MockTransport(graph.async_handler))
    try:
        messages.mock(return_value=httpx.Response(200, json={"success": False}))
        with pytest.raises(GatewayError, match="without success"):
            await gateway.mark_read(CREDS, "wamid.1")

        media.mock(return_value=httpx.Response(200, json={"ok": True}))
        with pytest.raises(GatewayError, match="without a media id"):
            await gateway.upload_media(CREDS, JPEG, "image/jpeg", "a.jpg")

        media.mock(return_value=httpx.Response(503, text="busy"))
        with pytest.raises(GatewayError) as caught:
            await gateway.upload_media(CREDS, JPEG, "image/jpeg", "a.jpg")
        assert caught.value.ambiguous

        media.mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(GatewayError) as caught:
            await gateway.upload_media(CREDS, JPEG, "image/jpeg", "a.jpg")
        assert caught.value.ambiguous
    finally:
        await gateway.aclose()


async def test_memory_gateway_records_uploads_and_reads() -> None:
    gateway = MemoryGateway()

    media_id = await gateway.upload_media(CREDS, JPEG, "image/jpeg", "a.jpg")
    read = await gateway.mark_read(CREDS, "wamid.1", typing_indicator=True)

    assert media_id.isdigit() and read is None
    [upload] = gateway.uploads
    assert (upload.data, upload.mime_type, upload.filename, upload.result) == (
        JPEG,
        "image/jpeg",
        "a.jpg",
        media_id,
    )
    [receipt] = gateway.reads
    assert (receipt.message_id, receipt.typing_indicator, receipt.result) == ("wamid.1", True, None)


async def test_memory_gateway_scripts_fail_uploads_and_reads() -> None:
    gateway = MemoryGateway()
    too_big = Rejected(100, "Invalid parameter", "File Too Large", 400, False)
    gateway.script.extend([too_big, too_big, GatewayError("down")])

    with pytest.raises(MediaRejected) as caught:
        await gateway.upload_media(CREDS, JPEG, "image/jpeg", "a.jpg")
    assert caught.value.rejected is too_big
    assert await gateway.mark_read(CREDS, "wamid.1") is too_big
    with pytest.raises(GatewayError):
        await gateway.mark_read(CREDS, "wamid.2")

    assert [u.result for u in gateway.uploads] == [too_big]
    assert [r.result for r in gateway.reads] == [too_big]
