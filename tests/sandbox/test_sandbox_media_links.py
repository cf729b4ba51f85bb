"""Media links are fetched as Meta fetches them: over real HTTP on loopback, a link that does not
answer, answers 404, or serves the wrong kind of file is accepted (200) and then fails with
131053 "Media upload error" in a `failed` status (cloud-api.md §7, §8)."""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from tests.sandbox.bench import Bench, Clock, Receiver, open_bench, payload_of
from tests.sandbox.test_template_send import MEDIA, template_payload, text
from tests.support import mp4
from tests.support.receiver import free_port, hanging_server, serve_app

from wanode.sandbox.rules.errors import ERROR_DOCS
from wanode.sandbox.rules.media import KIND_OF_TYPE
from wanode.sandbox.rules.media_links import TYPE_OF_EXTENSION, judge
from wanode.sandbox.samples import SAMPLES, sample

KB = 1024
MB = 1024 * KB
UPLOAD_ERROR = "Media upload error"


def _sample(name: str) -> bytes:
    found = sample(name)
    assert found is not None
    return found[1]


def _picture(mode: str, fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 3 if mode == "P" else (10, 120, 200)).save(buffer, fmt)
    return buffer.getvalue()


def _webp(frames: list[Image.Image], **options: Any) -> bytes:
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=len(frames) > 1, append_images=frames[1:], **options)
    return buffer.getvalue()


def _noise(seed: int) -> Image.Image:
    """Random pixels: WebP cannot compress them, which makes heavy stickers on purpose."""
    return Image.frombytes("RGB", (512, 512), random.Random(seed).randbytes(512 * 512 * 3))


def _ogg(channels: int) -> bytes:
    head = b"OpusHead" + bytes([1, channels]) + bytes(9)
    return b"OggS\x00\x02" + bytes(20) + b"\x01" + bytes([len(head)]) + head + bytes(64)


JPEG = _sample("photo.jpg")
PNG = _sample("logo.png")
PDF = _sample("invoice.pdf")
STICKER = _sample("sticker.webp")
VOICE = _sample("voice.ogg")
PALETTE_PNG = _picture("P", "PNG")
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(64)
STEREO_OPUS = _ogg(2)
VORBIS = b"OggS\x00\x02" + bytes(20) + b"\x01\x0f" + b"\x01vorbis" + bytes(70)
H264_AAC = mp4.mp4(mp4.H264, mp4.AAC, moov_last=True)
HEVC = mp4.mp4(mp4.HEVC, mp4.AAC)
HEAVY_STATIC = _webp([_noise(1)], quality=60)
HEAVY_ANIMATED = _webp([_noise(seed) for seed in range(3)], quality=10, duration=100)


@dataclass
class Files:
    """Files on loopback: `/files/NAME` (404 when absent), `/to?url=...` a redirect."""

    port: int
    files: dict[str, bytes] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{name}"

    def app(self) -> Starlette:
        async def files(request: Request) -> Response:
            name = request.path_params["name"]
            self.hits[name] += 1
            body = self.files.get(name)
            if body is None:
                return Response(status_code=404)
            # The type a careless server gives: the bytes decide, not this header.
            return Response(body, media_type="application/octet-stream")

        async def redirect(request: Request) -> Response:
            return RedirectResponse(request.query_params["url"])

        return Starlette(routes=[Route("/files/{name}", files), Route("/to", redirect)])


@asynccontextmanager
async def serving(**files: bytes) -> AsyncIterator[Files]:
    server = Files(free_port(), dict(files))
    async with serve_app(server.app(), server.port):
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fetching(receiver: Receiver, clock: Clock) -> AsyncIterator[Bench]:
    """A bench whose sandbox fetches media links, on a clock the test moves."""
    async with open_bench(receiver, clock=clock, fetch_media=True) as bench:
        yield bench


async def send(bench: Bench, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Send `payload`, which the sandbox must accept; the statuses its message then got."""
    response = await bench.send(payload)
    assert response.status_code == 200, response.json()
    wamid = response.json()["messages"][0]["id"]
    await bench.settle()
    return bench.receiver.statuses(wamid)


async def send_link(bench: Bench, kind: str, link: str, **extra: Any) -> list[dict[str, Any]]:
    return await send(bench, payload_of(kind, {"link": link, **extra}))


def assert_upload_error(statuses: list[dict[str, Any]], details: str) -> None:
    """One `failed` status carrying Meta's asynchronous error object for 131053."""
    assert [s["status"] for s in statuses] == ["failed"]
    [error] = statuses[0]["errors"]
    assert error == {
        "code": 131053,
        "title": UPLOAD_ERROR,
        "message": UPLOAD_ERROR,
        "error_data": {"details": error["error_data"]["details"]},
        "href": ERROR_DOCS,
    }
    assert details in error["error_data"]["details"], error["error_data"]["details"]


def assert_read(statuses: list[dict[str, Any]]) -> None:
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]


@pytest.mark.parametrize(
    ("kind", "name", "extra"),
    [
        ("image", "photo.jpg", {}),
        ("image", "logo.png", {}),
        ("sticker", "sticker.webp", {}),
        ("video", "clip.mp4", {}),
        ("audio", "voice.ogg", {"voice": True}),
        ("document", "invoice.pdf", {"filename": "invoice.pdf"}),
        ("document", "notes.txt", {}),
    ],
)
async def test_the_sandbox_samples_are_fetched_and_delivered(
    fetching: Bench, kind: str, name: str, extra: dict[str, Any]
) -> None:
    async with serving(**{name: _sample(name)}) as files:
        assert_read(await send_link(fetching, kind, files.url(name), **extra))
        assert files.hits[name] == 1


async def test_a_link_answering_404_fails_with_131053(fetching: Bench) -> None:
    async with serving() as files:
        statuses = await send_link(fetching, "image", files.url("gone.jpg"))

    assert_upload_error(statuses, "image.link: the server answered HTTP 404")
    assert files.hits["gone.jpg"] == 1
    assert fetching.receiver.openapi_errors() == []  # the failed status is Meta's shape


async def test_a_refused_connection_fails_with_131053(fetching: Bench) -> None:
    link = f"http://127.0.0.1:{free_port()}/cat.jpg"  # nothing listens there

    assert_upload_error(
        await send_link(fetching, "image", link), "image.link: the server could not be reached"
    )


async def test_a_pdf_behind_an_image_link_fails_with_131053(fetching: Bench) -> None:
    async with serving(**{"cat.jpg": PDF}) as files:
        statuses = await send_link(fetching, "image", files.url("cat.jpg"))

    assert_upload_error(
        statuses, "image.link: the file is application/pdf; image messages take image/jpeg"
    )


async def test_a_server_that_never_answers_fails_in_bounded_time(receiver: Receiver) -> None:
    async with (
        open_bench(receiver, fetch_media=True, media_fetch_timeout=0.3) as bench,
        hanging_server() as url,
    ):
        statuses = await send_link(bench, "image", f"{url}/cat.jpg")

    assert_upload_error(statuses, "image.link: the server did not send the file within 0.3 s")


@pytest.mark.parametrize(
    "link",
    ["https://example.com/a.png", "http://10.1.2.3/a.png", "http://[2001:db8::1]/a.png"],
)
async def test_links_beyond_this_machine_fail_without_a_fetch(fetching: Bench, link: str) -> None:
    assert_upload_error(
        await send_link(fetching, "image", link),
        "image.link: the sandbox fetches media from this machine only",
    )


async def test_a_redirect_away_from_loopback_is_not_followed(fetching: Bench) -> None:
    async with serving() as files:
        link = f"http://127.0.0.1:{files.port}/to?url=http://192.0.2.7/cat.jpg"
        statuses = await send_link(fetching, "image", link)

    assert_upload_error(statuses, "image.link: the link's address is not allowed")


async def test_localhost_is_this_machine(fetching: Bench) -> None:
    async with serving(**{"cat.jpg": JPEG}) as files:
        link = f"http://localhost:{files.port}/files/cat.jpg"
        assert_read(await send_link(fetching, "image", link))
        assert files.hits["cat.jpg"] == 1


async def test_a_redirect_on_loopback_is_followed(fetching: Bench) -> None:
    async with serving(**{"cat.jpg": JPEG}) as files:
        link = f"http://127.0.0.1:{files.port}/to?url={files.url('cat.jpg')}"
        assert_read(await send_link(fetching, "image", link))


async def test_header_and_template_links_are_fetched_too(fetching: Bench) -> None:
    buttons = [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]
    async with serving() as files:
        statuses = await send(
            fetching,
            payload_of(
                "interactive",
                {
                    "type": "button",
                    "header": {"type": "video", "video": {"link": files.url("ad.mp4")}},
                    "body": {"text": "Watch?"},
                    "action": {"buttons": buttons},
                },
            ),
        )

    assert_upload_error(statuses, "interactive.header.video.link: the server answered HTTP 404")


async def test_a_template_header_link_is_fetched(fetching: Bench) -> None:
    await fetching.approved(MEDIA)
    body = {"type": "body", "parameters": [text("March"), text("$10"), text("May 1")]}

    async with serving(**{"inv.pdf": JPEG}) as files:
        document = {"link": files.url("inv.pdf"), "filename": "March.pdf"}
        header = {"type": "header", "parameters": [{"type": "document", "document": document}]}
        statuses = await send(fetching, template_payload("invoice_ready", [header, body], "en"))

    assert_upload_error(
        statuses,
        "template.components[0].parameters[0].document.link: the file is image/jpeg; "
        "document messages take text/plain",
    )


async def test_a_fetched_link_is_cached_ten_minutes_and_a_failed_one_not(
    fetching: Bench, clock: Clock
) -> None:
    async with serving() as files:
        link = files.url("cat.jpg")
        assert_upload_error(await send_link(fetching, "image", link), "HTTP 404")
        files.files["cat.jpg"] = JPEG
        assert_read(await send_link(fetching, "image", link))
        assert files.hits["cat.jpg"] == 2  # the 404 was not kept

        files.files["cat.jpg"] = PDF  # Meta keeps what it fetched, keyed on the exact URL
        assert_read(await send_link(fetching, "image", link))
        assert files.hits["cat.jpg"] == 2
        clock.advance(10 * 60 + 1)
        assert_upload_error(await send_link(fetching, "image", link), "application/pdf")
        assert files.hits["cat.jpg"] == 3


async def test_links_are_taken_on_trust_when_the_fetch_is_off(bench: Bench) -> None:
    async with serving() as files:
        assert_read(await send_link(bench, "image", files.url("gone.jpg")))
        assert files.hits["gone.jpg"] == 0


async def test_a_voice_note_by_media_id_must_be_ogg(fetching: Bench) -> None:
    uploaded = (await fetching.upload(MP3, "audio/mpeg")).json()["id"]

    statuses = await send(fetching, payload_of("audio", {"id": uploaded, "voice": True}))

    assert_upload_error(statuses, "audio.id: a voice note must be OGG/OPUS")
    assert_read(await send(fetching, payload_of("audio", {"id": uploaded})))


# The rules themselves, on the bytes a fetch brings (pure).
GOOD = [
    ("image", JPEG, False),
    ("image", PNG, False),
    ("sticker", STICKER, False),
    ("sticker", HEAVY_ANIMATED, False),
    ("video", H264_AAC, False),
    ("video", _sample("clip.mp4"), False),
    ("audio", VOICE, True),
    ("audio", MP3, False),
    ("document", PDF, False),
    ("document", b"Table 7, 8 pm.\n", False),
]
BAD = [
    ("image", PDF, False, "the file is application/pdf; image messages take image/jpeg"),
    ("image", STICKER, False, "the file is image/webp; image messages take"),
    ("sticker", JPEG, False, "the file is image/jpeg; sticker messages take image/webp"),
    ("video", JPEG, False, "the file is image/jpeg; video messages take video/mp4"),
    ("document", JPEG, False, "the file is image/jpeg; document messages take text/plain"),
    ("audio", MP3, True, "a voice note must be OGG/OPUS; the file is audio/mpeg"),
    ("audio", STEREO_OPUS, False, "OGG/OPUS audio must be mono"),
    ("audio", VORBIS, False, "the file is audio/ogg; codecs=vorbis; audio messages take"),
    (
        "image",
        PALETTE_PNG,
        False,
        "PNG images must be 8-bit RGB or RGBA; this one is 1-bit palette",
    ),
    ("video", HEVC, False, "the video is HEVC (H.265) (hvc1)"),
    ("sticker", HEAVY_STATIC, False, "static stickers may have at most 102400 bytes"),
    ("image", b"", False, "the file is empty"),
]


@pytest.mark.parametrize(("kind", "data", "voice"), GOOD)
def test_files_of_the_declared_kind_pass(kind: str, data: bytes, voice: bool) -> None:
    assert judge(kind, data, len(data), voice=voice) is None


@pytest.mark.parametrize(("kind", "data", "voice", "reason"), BAD)
def test_files_meta_refuses_are_refused_with_a_reason(
    kind: str, data: bytes, voice: bool, reason: str
) -> None:
    problem = judge(kind, data, len(data), voice=voice)
    assert problem is not None and problem.startswith(reason), problem


@pytest.mark.parametrize(
    ("kind", "limit"),
    [("image", 5 * MB), ("audio", 16 * MB), ("video", 16 * MB), ("document", 100 * MB)],
)
def test_sizes_follow_metas_table(kind: str, limit: int) -> None:
    head = {"image": JPEG, "audio": MP3, "video": H264_AAC, "document": PDF}[kind]
    assert judge(kind, head, limit) is None
    assert judge(kind, head, limit + 1) == (
        f"{kind} files may have at most {limit} bytes; this one is larger"
    )
    assert judge("sticker", HEAVY_ANIMATED, 500 * KB + 1) is not None


def test_every_type_of_metas_table_is_recognised() -> None:
    assert set(TYPE_OF_EXTENSION.values()) == set(KIND_OF_TYPE)
    assert {mime.split(";")[0] for mime, _ in SAMPLES.values()} <= set(KIND_OF_TYPE)
