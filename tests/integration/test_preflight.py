"""The media preflight against real files served over loopback HTTP, alone and in the engine."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from tests.support.harness import fast_settings, running
from tests.support.receiver import free_port, receiver, serve_app

from wanode.cli.bootstrap import ensure_defaults
from wanode.engine import Gateways
from wanode.engine.dispatcher import Dispatcher
from wanode.gateway import Gateway, MemoryGateway
from wanode.messages import Image as ImageMessage
from wanode.messages import render_payload
from wanode.preflight import Preflight, Refusal
from wanode.preflight.client import DOWNLOAD_ERROR_SECONDS
from wanode.store import Database
from wanode.store import messages as outbox

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"
MB = 1024 * 1024
CHUNK = 64 * 1024


def picture(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB" if fmt == "JPEG" else "RGBA", size, (10, 120, 200)).save(buffer, fmt)
    return buffer.getvalue()


JPEG = picture("JPEG")
PNG = picture("PNG")
VIDEO_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


@dataclass
class FileServer:
    """Files on loopback: `/files/NAME` with a Content-Length, `/stream/NAME.mp4` an endless
    chunked video, `/declared/NAME.mp4` a video whose Content-Length says 40 MB."""

    port: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)  # body bytes handed to the server

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def app(self) -> Starlette:
        async def files(request: Request) -> Response:
            self.hits[request.url.path] += 1
            body = self.files.get(request.path_params["name"])
            if body is None:
                return Response(status_code=404)
            return Response(body, media_type="application/octet-stream")

        async def stream(request: Request) -> Response:
            self.hits[request.url.path] += 1
            return StreamingResponse(self._video(request.url.path, 64 * MB))

        async def declared(request: Request) -> Response:
            self.hits[request.url.path] += 1
            size = 40 * MB
            return StreamingResponse(
                self._video(request.url.path, size), headers={"content-length": str(size)}
            )

        async def moved(request: Request) -> Response:
            return RedirectResponse(f"/files/{request.path_params['name']}")

        return Starlette(
            routes=[
                Route("/files/{name}", files),
                Route("/stream/{name}", stream),
                Route("/declared/{name}", declared),
                Route("/moved/{name}", moved),
            ]
        )

    def _video(self, path: str, size: int) -> Iterator[bytes]:
        yield VIDEO_HEAD + bytes(CHUNK - len(VIDEO_HEAD))
        self.sent[path] += CHUNK
        while self.sent[path] < size:
            yield bytes(CHUNK)
            self.sent[path] += CHUNK


@asynccontextmanager
async def file_server(**files: bytes) -> AsyncIterator[FileServer]:
    server = FileServer(port=free_port(), files=files)
    async with serve_app(server.app(), server.port):
        yield server


@asynccontextmanager
async def silent_server(*, trickle: bool) -> AsyncIterator[str]:
    """A server that accepts connections and never answers (or answers one byte at a time)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if trickle:
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\n\r\n")
                for byte in JPEG:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.05)
            await reader.read()  # until the client hangs up
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/photo.jpg"
    finally:
        server.close()
        await server.wait_closed()


def image(link: str) -> dict[str, object]:
    return render_payload(ImageMessage(link=link), HANDSET)


def payload(kind: str, link: str) -> dict[str, object]:
    return {"type": kind, kind: {"link": link}}


def refused(refusal: Refusal | None, dr: str, meta: int, reason: str) -> Refusal:
    assert refusal is not None
    assert (refusal.dr.code, refusal.meta_code) == (dr, meta)
    assert reason in refusal.details, refusal.details
    return refusal


async def test_a_valid_image_passes_and_a_campaign_fetches_it_once() -> None:
    async with file_server(**{"cat.jpg": JPEG}) as files:
        preflight = Preflight(timeout=5)
        try:
            link = files.url("/files/cat.jpg")
            verdicts = await asyncio.gather(*(preflight.check(image(link)) for _ in range(1000)))
            assert verdicts == [None] * 1000
            assert await preflight.check(image(link)) is None
            assert files.hits["/files/cat.jpg"] == 1
            assert await preflight.check(image(files.url("/moved/cat.jpg"))) is None
        finally:
            await preflight.aclose()


async def test_verdicts_expire_and_download_errors_sooner() -> None:
    now = [0.0]
    async with file_server(**{"cat.jpg": JPEG}) as files:
        preflight = Preflight(timeout=5, cache_seconds=300, clock=lambda: now[0])
        try:
            good, gone = image(files.url("/files/cat.jpg")), image(files.url("/files/gone.jpg"))
            for _ in range(3):
                assert await preflight.check(good) is None
                refused(await preflight.check(gone), "7701", 131052, "HTTP 404")
            assert files.hits == {"/files/cat.jpg": 1, "/files/gone.jpg": 1}
            # A download error is kept only briefly: the host may be back a moment later.
            now[0] = DOWNLOAD_ERROR_SECONDS + 1
            refused(await preflight.check(gone), "7701", 131052, "HTTP 404")
            assert await preflight.check(good) is None
            assert files.hits == {"/files/cat.jpg": 1, "/files/gone.jpg": 2}
            now[0] = 301.0
            assert await preflight.check(good) is None
            assert files.hits["/files/cat.jpg"] == 2
        finally:
            await preflight.aclose()


async def test_bad_files_are_refused_with_the_reason() -> None:
    sticker = picture("WEBP", (500, 500))
    async with file_server(**{"photo.jpg": PNG, "sticker.webp": sticker}) as files:
        preflight = Preflight(timeout=5)
        try:
            refused(
                await preflight.check(image(files.url("/files/photo.jpg"))),
                "7861",
                131053,
                "image.link: the file is image/png but the message says image/jpeg",
            )
            refused(
                await preflight.check(payload("sticker", files.url("/files/sticker.webp"))),
                "7861",
                131053,
                "sticker.link: the sticker is 500x500 pixels; stickers must be exactly 512x512",
            )
            refused(
                await preflight.check(image(files.url("/files/missing.jpg"))),
                "7701",
                131052,
                "image.link: the server answered HTTP 404",
            )
            refused(
                await preflight.check(image(f"http://127.0.0.1:{free_port()}/photo.jpg")),
                "7701",
                131052,
                "image.link: the server could not be reached",
            )
        finally:
            await preflight.aclose()


async def test_an_oversized_video_stops_the_download_early() -> None:
    async with file_server() as files:
        preflight = Preflight(timeout=10)
        try:
            # Chunked, no Content-Length: reading stops once the 16 MB limit is passed.
            refusal = await preflight.check(payload("video", files.url("/stream/big.mp4")))
            refused(refusal, "7861", 131053, "video.link: video files may be at most 16 MB")
            await asyncio.sleep(0.2)  # let the server notice the client has gone
            assert files.sent["/stream/big.mp4"] < 24 * MB  # of 64 MB on offer
            # A Content-Length over the limit is refused before the body is read.
            refusal = await preflight.check(payload("video", files.url("/declared/big.mp4")))
            refused(refusal, "7861", 131053, "video.link: video files may be at most 16 MB")
            await asyncio.sleep(0.2)
            assert files.sent["/declared/big.mp4"] < 4 * MB  # of 40 MB declared
        finally:
            await preflight.aclose()


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickling"])
async def test_a_server_that_never_finishes_times_out(trickle: bool) -> None:
    async with silent_server(trickle=trickle) as link:
        preflight = Preflight(timeout=0.5)
        try:
            started = time.monotonic()
            refusal = await preflight.check(image(link))
            elapsed = time.monotonic() - started
            refused(refusal, "7701", 131052, "did not send the file within 0.5 s")
            assert 0.4 < elapsed < 1.5
        finally:
            await preflight.aclose()


async def test_media_ids_and_other_messages_are_not_fetched() -> None:
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"fetched {request.url}")

    preflight = Preflight(transport=httpx.MockTransport(no_network))
    try:
        assert await preflight.check(render_payload(ImageMessage(id="1234"), HANDSET)) is None
        assert await preflight.check({"type": "text", "text": {"body": "hi"}}) is None
        refused(
            await preflight.check(payload("image", "ftp://files.example/cat.jpg")),
            "7701",
            131052,
            "only http and https links can be fetched",
        )
    finally:
        await preflight.aclose()


async def test_the_engine_fails_a_bad_image_and_sends_a_good_one(db: Database) -> None:
    async with (
        file_server(**{"photo.jpg": PNG, "cat.jpg": JPEG}) as files,
        receiver() as dr,
        running(db, media_preflight=True, media_preflight_timeout=5.0) as wn,
    ):

        async def send(link: str) -> str:
            response = await wn.client.post(
                "/resources/v1/messaging",
                json={
                    "appid": wn.app_id,
                    "deliverychannel": "whatsapp",
                    "destination": [{"waid": [HANDSET]}],
                    "channels": {
                        "OTT-Messaging": {"wa": {"type": "image", "image": {"url": link}}}
                    },
                    "notifyurl": f"{dr.url}/dr",
                },
            )
            assert response.status_code == 200, response.text
            return str(response.json()["response"][0]["transid"])

        bad = await send(files.url("/files/photo.jpg"))
        message = await wn.wait_status(bad, "failed")
        assert message["error"]["code"] == 131053
        assert message["error"]["details"] == (
            "image.link: the file is image/png but the message says image/jpeg"
        )
        [report] = [r.json()["deliveryInfoNotification"] for r in await dr.wait_for(1)]
        assert report["transid"] == bad
        assert report["deliveryInfo"]["code"] == "7861"
        assert report["deliveryInfo"]["deliveryStatus"] == "Failed"
        assert report["deliveryInfo"]["additionalInfo"] == (
            "(#131053)  | image.link: the file is image/png but the message says image/jpeg"
        )

        good = await send(files.url("/files/cat.jpg"))
        await wn.wait_status(good, "read")
        inbox = (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json()
        assert [m["type"] for m in inbox] == ["image"]
        reports = await dr.wait_for(4)
        codes = [r.json()["deliveryInfoNotification"]["deliveryInfo"]["code"] for r in reports]
        assert codes[1:] == ["7501", "7500", "7502"]


class Fixed(Gateways):
    def __init__(self, gateway: Gateway, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = gateway

    def for_app(self, app: dict[str, Any]) -> Gateway:
        return self.gateway


@pytest.mark.parametrize(
    ("gateway", "setting", "checked"),
    [
        ("sandbox", None, True),
        ("cloud", None, False),
        ("cloud", True, True),
        ("sandbox", False, False),
    ],
)
async def test_the_preflight_runs_for_sandbox_apps_unless_configured(
    db: Database, gateway: str, setting: bool | None, checked: bool
) -> None:
    fetched: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        fetched.append(request.url.path)
        return httpx.Response(200, content=PNG)

    settings = fast_settings(db, media_preflight=setting)
    memory = MemoryGateway()
    dispatcher = Dispatcher(
        db,
        Fixed(memory, settings),
        settings,
        clock=time.time,
        preflight=Preflight(transport=httpx.MockTransport(serve)),
    )
    app = (await ensure_defaults(db, gateway=gateway)).app
    transid = str(uuid.uuid4())
    async with db.begin() as conn:
        await outbox.enqueue(
            conn,
            [
                {
                    "transid": transid,
                    "app_id": app["id"],
                    "wa_id": HANDSET,
                    "destination": HANDSET,
                    "destination_type": "waid",
                    "kind": "image",
                    "payload": image("https://cdn.example/photo.jpg"),
                    "notify_url": None,
                    "expires_at": None,
                }
            ],
            at=time.time(),
        )
    try:
        assert await dispatcher.run_once() == 1
    finally:
        await dispatcher.aclose()
    async with db.begin() as conn:
        message = await outbox.get(conn, transid)
    assert message is not None
    if checked:
        assert fetched == ["/photo.jpg"] and memory.sent == []
        assert (message["status"], message["error_code"]) == ("failed", 131053)
    else:
        assert fetched == [] and len(memory.sent) == 1
        assert message["status"] == "submitted"
