"""Media customers send: recorded with the message, downloaded through the app's gateway into
the media directory, and served at `GET /v1/media/{media_id}` (cloud-api.md §4.4, §7)."""

from __future__ import annotations

import base64
import hashlib
import time
from collections import deque
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from tests.support.harness import Harness, running, wait_until

from wanode.config import Settings
from wanode.engine.media_fetch import MediaFetcher
from wanode.gateway import (
    CloudGateway,
    Credentials,
    GatewayError,
    MediaRejected,
    MediaTooLarge,
    MemoryGateway,
    Rejected,
)
from wanode.sandbox import BusinessNumber, Sandbox
from wanode.sandbox.samples import sample
from wanode.sandbox.webhooks.delivery import sign
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import media as media_queries
from wanode.store.tables import inbound_media

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


def _sample(name: str) -> tuple[str, bytes]:
    found = sample(name)
    assert found is not None
    return found


async def _send_media(wn: Harness, **body: Any) -> dict[str, Any]:
    """The handset sends media; answers the webhook message wanode stored."""
    sent = await wn.client.post(
        f"/sandbox/handsets/{HANDSET}/send-media",
        json={"phone_number_id": wn.app["phone_number_id"], **body},
    )
    assert sent.status_code == 201, sent.text
    wamid = sent.json()["id"]
    inbound = await wait_until(
        lambda: wn.client.get("/v1/inbound", params={"waid": HANDSET}),
        lambda r: any(m["wamid"] == wamid for m in r.json()["messages"]),
        timeout=10,
        what=f"{wamid} to be stored",
    )
    return next(m["message"] for m in inbound.json()["messages"] if m["wamid"] == wamid)


async def _served(wn: Harness, media_id: str) -> httpx.Response:
    """The answer of GET /v1/media/{media_id} once the download is no longer pending."""
    return await wait_until(
        lambda: wn.client.get(f"/v1/media/{media_id}"),
        lambda r: not (r.status_code == 409 and "retry-after" in r.headers),
        timeout=10,
        what=f"media {media_id} to be downloaded",
    )


async def _post_webhook(wn: Harness, message: dict[str, Any]) -> httpx.Response:
    """Deliver an inbound message to wanode as WhatsApp would: signed with the app secret."""
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": wn.app["waba_id"],
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": wn.app["display_phone_number"],
                                "phone_number_id": wn.app["phone_number_id"],
                            },
                            "contacts": [{"profile": {"name": "Ada"}, "wa_id": HANDSET}],
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }
    raw = orjson.dumps(envelope)
    return await wn.client.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={
            "content-type": "application/json",
            "x-hub-signature-256": sign(raw, wn.app["app_secret"]),
        },
    )


async def _upload(wn: Harness, data: bytes, mime_type: str) -> str:
    """Put a file on the sandbox as the app's number's media (through wanode's own upload)."""
    response = await wn.client.post(
        "/v1/media",
        data={"appid": wn.app_id},
        files={"file": ("file", data, mime_type)},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _image_message(wamid: str, media_id: str, sha256: str) -> dict[str, Any]:
    return {
        "from": HANDSET,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "image",
        "image": {"id": media_id, "mime_type": "image/jpeg", "sha256": sha256},
    }


def _files(media_dir: Path) -> list[Path]:
    return sorted(p for p in media_dir.rglob("*") if p.is_file()) if media_dir.exists() else []


@pytest.mark.parametrize(
    ("name", "kind", "disposition"),
    [
        ("photo.jpg", "image", "inline"),
        ("voice.ogg", "audio", "inline"),
        ("clip.mp4", "video", "inline"),
        ("invoice.pdf", "document", 'attachment; filename="invoice.pdf"'),
        ("sticker.webp", "sticker", "inline"),
    ],
)
async def test_media_a_customer_sends_is_downloaded_and_served(
    db: Database, tmp_path: Path, name: str, kind: str, disposition: str
) -> None:
    mime_type, data = _sample(name)
    async with running(db, media_dir=tmp_path / "media") as wn:
        message = await _send_media(wn, sample=name)
        media_id = message[kind]["id"]

        served = await _served(wn, media_id)

        assert served.status_code == 200, served.text
        assert served.content == data
        assert served.headers["content-type"].startswith(mime_type.split(";")[0])
        assert served.headers["content-disposition"].startswith(disposition)
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in served.headers["cache-control"]
        assert _files(tmp_path / "media") == [tmp_path / "media" / wn.app_id / media_id]
        async with db.begin() as conn:
            row = await media_queries.get(conn, media_id)
        assert row is not None
        assert row["wamid"] == message["id"]
        assert row["app_id"] == wn.app_id
        assert row["size"] == len(data)
        assert row["sha256"] == message[kind]["sha256"]
        assert row["error"] is None


async def test_media_is_served_only_with_a_key_and_unknown_media_is_404(
    db: Database, tmp_path: Path
) -> None:
    async with running(db, media_dir=tmp_path / "media") as wn:
        message = await _send_media(wn, sample="photo.jpg")
        assert (await _served(wn, message["image"]["id"])).status_code == 200

        anonymous = await wn.client.get(f"/v1/media/{message['image']['id']}", headers={"key": ""})
        unknown = await wn.client.get("/v1/media/1234567890123456")
        for file in _files(tmp_path / "media"):
            file.unlink()
        gone = await wn.client.get(f"/v1/media/{message['image']['id']}")

    assert anonymous.status_code == 401
    assert gone.status_code == 404
    assert "is gone" in gone.json()["error"]["message"]
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "7600"
    assert unknown.json()["error"]["field"] == "media_id"


async def test_pending_media_answers_409_with_retry_after(db: Database, tmp_path: Path) -> None:
    async with running(db, media_dir=tmp_path / "media", start_engine=False) as wn:
        message = await _send_media(wn, sample="photo.jpg")
        media_id = message["image"]["id"]

        pending = await wn.client.get(f"/v1/media/{media_id}")
        await wn.ctx.engine.media_fetcher.run_once()
        done = await wn.client.get(f"/v1/media/{media_id}")

    assert pending.status_code == 409
    assert pending.headers["retry-after"] == "1"
    assert pending.json()["error"]["code"] == "7701"
    assert "not downloaded yet" in pending.json()["error"]["message"]
    assert done.status_code == 200
    assert done.content == _sample("photo.jpg")[1]


async def test_media_over_the_cap_is_not_kept(db: Database, tmp_path: Path) -> None:
    async with running(db, media_dir=tmp_path / "media", inbound_media_max_bytes=1000) as wn:
        message = await _send_media(wn, sample="photo.jpg")

        served = await _served(wn, message["image"]["id"])

    assert served.status_code == 409
    assert "retry-after" not in served.headers
    error = served.json()["error"]
    assert error["code"] == "7701"
    assert "too large" in error["message"] and "1000" in error["message"]
    assert _files(tmp_path / "media") == []


async def test_a_sha256_mismatch_is_recorded_and_nothing_is_served(
    db: Database, tmp_path: Path
) -> None:
    _mime, data = _sample("photo.jpg")
    wrong = base64.b64encode(hashlib.sha256(data + b"!").digest()).decode()
    async with running(db, media_dir=tmp_path / "media") as wn:
        media_id = await _upload(wn, data, "image/jpeg")
        posted = await _post_webhook(wn, _image_message("wamid.SHA-MISMATCH", media_id, wrong))
        assert posted.status_code == 200, posted.text

        served = await _served(wn, media_id)

    assert served.status_code == 409
    assert "sha256 mismatch" in served.json()["error"]["message"]
    assert wrong in served.json()["error"]["message"]
    assert _files(tmp_path / "media") == []


async def test_a_repeated_webhook_records_the_media_once(db: Database, tmp_path: Path) -> None:
    _mime, data = _sample("photo.jpg")
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    async with running(db, media_dir=tmp_path / "media") as wn:
        media_id = await _upload(wn, data, "image/jpeg")
        message = _image_message("wamid.TWICE", media_id, digest)
        for _ in range(3):
            assert (await _post_webhook(wn, message)).status_code == 200

        served = await _served(wn, media_id)
        inbound = (await wn.client.get("/v1/inbound", params={"waid": HANDSET})).json()

    assert served.status_code == 200
    assert served.content == data
    assert [m["wamid"] for m in inbound["messages"]] == ["wamid.TWICE"]
    async with db.begin() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(inbound_media))).scalar()
    assert count == 1


async def test_a_hex_digest_is_checked_too(db: Database, tmp_path: Path) -> None:
    """Webhooks write the digest in base64, Graph in hex: either form is verified."""
    _mime, data = _sample("logo.png")
    async with running(db, media_dir=tmp_path / "media") as wn:
        good = await _upload(wn, data, "image/png")
        bad = await _upload(wn, data, "image/png")
        await _post_webhook(
            wn, _image_message("wamid.HEX1", good, hashlib.sha256(data).hexdigest())
        )
        await _post_webhook(wn, _image_message("wamid.HEX2", bad, "ab" * 32))

        assert (await _served(wn, good)).content == data
        assert "sha256 mismatch" in (await _served(wn, bad)).json()["error"]["message"]


# The fetcher's retries, against the memory gateway and a clock the test moves.


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class _OneGateway:
    def __init__(self, gateway: MemoryGateway) -> None:
        self.gateway = gateway

    def for_app(self, app: dict[str, Any]) -> MemoryGateway:
        return self.gateway


async def _fetcher_with_media(
    db: Database, tmp_path: Path, data: bytes, **settings: Any
) -> tuple[MediaFetcher, MemoryGateway, _Clock, str]:
    memory = MemoryGateway()
    media_id = memory.add_file(data, "image/jpeg")
    clock = _Clock()
    async with db.begin() as conn:
        app = await app_queries.create_app(
            conn,
            name="retry",
            phone_number_id="100000000000001",
            waba_id="200000000000001",
            display_phone_number="15550001111",
            access_token="tok",
            app_secret="secret",
            verify_token="verify",
            gateway="cloud",
        )
        await media_queries.record(
            conn,
            media_id=media_id,
            wamid="wamid.RETRY",
            app_id=app["id"],
            mime_type="image/jpeg",
            sha256=None,
            at=clock.now,
        )
    values = {
        "database_url": str(db.url),
        "media_dir": tmp_path / "media",
        "inbound_media_retry_interval": 10.0,
        **settings,
    }
    gateways: Any = _OneGateway(memory)
    fetcher = MediaFetcher(db, gateways, Settings(**values), clock=clock)
    return fetcher, memory, clock, media_id


async def _row(db: Database, media_id: str) -> dict[str, Any]:
    async with db.begin() as conn:
        row = await media_queries.get(conn, media_id)
    assert row is not None
    return row


async def test_transient_failures_are_retried_with_backoff(db: Database, tmp_path: Path) -> None:
    data = b"\xff\xd8\xff" + bytes(100)
    fetcher, memory, clock, media_id = await _fetcher_with_media(db, tmp_path, data)
    busy = Rejected(131016, "Service unavailable", "overloaded", 503, True)
    memory.script = deque([GatewayError("down"), busy])

    assert await fetcher.run_once() == 1  # unreachable: retry in 10 s
    assert await fetcher.run_once() == 0
    clock.now += 10
    assert await fetcher.run_once() == 1  # retryable refusal: retry in 20 s
    clock.now += 19
    assert await fetcher.run_once() == 0
    assert media_queries.state(await _row(db, media_id)) == media_queries.PENDING
    clock.now += 1
    assert await fetcher.run_once() == 1

    row = await _row(db, media_id)
    assert (row["size"], row["error"]) == (len(data), None)
    assert (tmp_path / "media" / row["path"]).read_bytes() == data
    assert memory.downloads == [media_id]


async def test_retries_are_bounded(db: Database, tmp_path: Path) -> None:
    fetcher, memory, clock, media_id = await _fetcher_with_media(
        db, tmp_path, b"x", inbound_media_attempts=3
    )
    memory.script = deque(GatewayError("down") for _ in range(5))

    for _ in range(3):
        assert await fetcher.run_once() == 1
        clock.now += 100

    row = await _row(db, media_id)
    assert row["path"] is None
    assert row["error"] == "gave up after 3 attempts: WhatsApp could not be reached: down"
    assert await fetcher.run_once() == 0
    assert len(memory.script) == 2


async def test_a_final_refusal_is_not_retried(db: Database, tmp_path: Path) -> None:
    fetcher, memory, _clock, media_id = await _fetcher_with_media(db, tmp_path, b"x")
    memory.script = deque([Rejected(100, "Invalid parameter", "media expired", 400, False)])

    assert await fetcher.run_once() == 1

    row = await _row(db, media_id)
    assert row["error"] == "WhatsApp refused (100) Invalid parameter: media expired"
    assert await fetcher.run_once() == 0


# The cloud adapter's media calls, against the sandbox's Graph media endpoints.

CREDS = Credentials(phone_number_id="106540352242922", access_token="tok", waba_id="1")


@pytest.fixture
async def sandbox_gateway() -> Any:
    sandbox = Sandbox()
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
    gateway = CloudGateway("http://sandbox", transport=httpx.ASGITransport(app=sandbox.app))
    yield gateway
    await gateway.aclose()
    await sandbox.aclose()


async def test_cloud_adapter_fetches_media_info_then_bytes(sandbox_gateway: CloudGateway) -> None:
    _mime, data = _sample("photo.jpg")
    media_id = await sandbox_gateway.upload_media(CREDS, data, "image/jpeg", "photo.jpg")

    info = await sandbox_gateway.media_info(CREDS, media_id)
    fetched = await sandbox_gateway.download_media(CREDS, info["url"], max_bytes=len(data))

    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["file_size"] == str(len(data))
    assert fetched == data
    with pytest.raises(MediaTooLarge):
        await sandbox_gateway.download_media(CREDS, info["url"], max_bytes=len(data) - 1)
    stranger = Credentials(phone_number_id="1", access_token="other", waba_id="1")
    with pytest.raises(MediaRejected) as refused:
        await sandbox_gateway.download_media(stranger, info["url"], max_bytes=len(data))
    assert refused.value.rejected.http_status in (401, 404)
    with pytest.raises(MediaRejected) as unknown:
        await sandbox_gateway.media_info(CREDS, "999999999999999")
    assert unknown.value.rejected.code == 100


async def test_the_cap_holds_without_a_content_length() -> None:
    """A server that does not say how large the file is is cut off while streaming."""

    async def chunks() -> Any:
        for _ in range(10):
            yield bytes(1000)

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer tok"
        return httpx.Response(200, content=chunks())

    gateway = CloudGateway("http://graph", transport=httpx.MockTransport(handler))
    try:
        assert len(await gateway.download_media(CREDS, "http://cdn/x", max_bytes=10_000)) == 10_000
        with pytest.raises(MediaTooLarge):
            await gateway.download_media(CREDS, "http://cdn/x", max_bytes=9_999)
    finally:
        await gateway.aclose()
