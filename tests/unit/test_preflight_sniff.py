"""The media preflight's pure part: real type by magic bytes, sizes, sticker rules, payloads."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from PIL import Image

from wanode.codes import dr_for_meta_code
from wanode.messages import Image as ImageMessage
from wanode.messages import ReplyButton, ReplyButtons, Text, render_payload
from wanode.messages.media import MEDIA_RULES, OGG_OPUS
from wanode.preflight import (
    MEDIA_DOWNLOAD_ERROR,
    MEDIA_TYPE_ERROR,
    MediaLink,
    check_media,
    download_error,
    fetch_limit,
    media_link,
    sample_limit,
    sniff,
    unsupported,
)
from wanode.preflight.refusal import human_size

KB = 1024
MB = 1024 * KB

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def picture(fmt: str, size: tuple[int, int] = (64, 48), **options: object) -> bytes:
    buffer = io.BytesIO()
    mode = "RGB" if fmt == "JPEG" else "RGBA"
    Image.new(mode, size, (200, 30, 30)).save(buffer, fmt, **options)
    return buffer.getvalue()


def noise(size: tuple[int, int], seed: int) -> Image.Image:
    """Random pixels: WebP cannot compress them, which makes large stickers on purpose."""
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def webp(frames: list[Image.Image], **options: object) -> bytes:
    buffer = io.BytesIO()
    if len(frames) == 1:
        frames[0].save(buffer, "WEBP", **options)
    else:
        frames[0].save(
            buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100, **options
        )
    return buffer.getvalue()


def ogg(ident: bytes) -> bytes:
    """A first Ogg page: 27-byte header, a one-entry segment table, the codec's ident header."""
    header = b"OggS\x00\x02" + bytes(20) + b"\x01"
    return header + bytes([len(ident)]) + ident


def office_zip(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(part, "<document/>")
    return buffer.getvalue()


JPEG = picture("JPEG")
PNG = picture("PNG")
GIF = picture("GIF")
STICKER = picture("WEBP", (512, 512))
ANIMATED = webp([Image.new("RGBA", (512, 512), (i * 60, 0, 0, 255)) for i in range(3)])
SMALL_STICKER = picture("WEBP", (500, 500))
HEAVY_STATIC = webp([noise((512, 512), 1)], quality=60)  # ~144 KB
HEAVY_ANIMATED = webp([noise((512, 512), seed) for seed in range(3)], quality=10)  # ~240 KB

MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(64)
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom\x00\x00\x00\x00" + bytes(64)
GPP = b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00isom" + bytes(64)
OPUS = ogg(b"OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00") + bytes(64)
VORBIS = ogg(b"\x01vorbis\x00\x00\x00\x00\x02\x44\xac\x00\x00") + bytes(64)
AMR = b"#!AMR\n" + bytes(64)
AAC = b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(64)
MP3_ID3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(64)
MP3_FRAMES = b"\xff\xfb\x90\x64" + bytes(64)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
DOCX_FILE = office_zip("word/document.xml")
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
UNRECOGNISED = "the file is of no recognised type but"
TEXT = "Order 42: Grüße, 你好\n".encode()


def check(kind: str, mime_type: str | None, data: bytes, size: int | None = None) -> str | None:
    """The refusal's details, or None when the file passes."""
    refusal = check_media(
        kind,
        mime_type,
        data[: sample_limit(kind)],
        len(data) if size is None else size,
        field=f"{kind}.link",
    )
    if refusal is None:
        return None
    assert refusal.dr.code == "7861"
    assert refusal.meta_code == MEDIA_TYPE_ERROR
    return refusal.details


@pytest.mark.parametrize(
    ("kind", "mime_type", "data"),
    [
        ("image", "image/jpeg", JPEG),
        ("image", "image/png", PNG),
        ("image", None, PNG),
        ("video", "video/mp4", MP4),
        ("video", "video/3gpp", GPP),
        ("audio", OGG_OPUS, OPUS),
        ("audio", "audio/amr", AMR),
        ("audio", "audio/aac", AAC),
        ("audio", "audio/mpeg", MP3_ID3),
        ("audio", "audio/mpeg", MP3_FRAMES),
        ("audio", "audio/mp4", M4A),
        ("audio", "audio/mp4", MP4),  # audio-only MP4s often carry a video brand
        ("document", "application/pdf", PDF),
        ("document", DOCX, DOCX_FILE),
        ("document", XLSX, DOCX_FILE),  # one ZIP signature for every Office Open XML type
        ("document", "application/msword", OLE),
        ("document", "application/vnd.ms-excel", OLE),
        ("document", "text/plain", TEXT),
        ("document", "text/plain", b"<!DOCTYPE html><html><body>hi</body></html>"),
        ("sticker", "image/webp", STICKER),
        ("sticker", "image/webp", ANIMATED),
        ("sticker", "image/webp", HEAVY_ANIMATED),  # over 100 KB is fine when animated
    ],
)
def test_real_files_of_the_declared_type_pass(
    kind: str, mime_type: str | None, data: bytes
) -> None:
    assert check(kind, mime_type, data) is None


@pytest.mark.parametrize(
    ("kind", "mime_type", "data", "reason"),
    [
        ("image", "image/jpeg", PNG, "the file is image/png but the message says image/jpeg"),
        ("image", "image/png", STICKER, "the file is image/webp but the message says image/png"),
        ("image", "image/jpeg", MP4, "the file is video/mp4 but the message says image/jpeg"),
        ("image", "image/jpeg", b"<html>login</html>", "the file is text/html but"),
        ("image", None, GIF, "the file is image/gif, which is not supported for image"),
        ("video", "video/mp4", M4A, "the file is audio/mp4 but the message says video/mp4"),
        ("video", "video/3gpp", MP4, "the file is video/mp4 but the message says video/3gpp"),
        (
            "audio",
            OGG_OPUS,
            VORBIS,
            "the file is audio/ogg; codecs=vorbis but the message says audio/ogg; codecs=opus",
        ),
        ("audio", "audio/mpeg", AAC, "the file is audio/aac but the message says audio/mpeg"),
        ("document", "application/pdf", DOCX_FILE, f"the file is {DOCX} but"),
        ("document", "application/msword", PDF, "the file is application/pdf but"),
        ("document", "text/plain", PDF, "the file is application/pdf but"),
        (
            "document",
            "text/plain",
            b"\x00\x01\x02\x03binary",
            "the file is of no recognised type but",
        ),
        ("sticker", "image/webp", PNG, "the file is image/png but the message says image/webp"),
        ("sticker", "image/webp", SMALL_STICKER, "the sticker is 500x500 pixels"),
        ("sticker", "image/webp", HEAVY_STATIC, "static stickers may be at most 100 KB"),
        ("image", "image/jpeg", b"", "the file is empty"),
    ],
)
def test_wrong_files_are_refused_with_a_reason(
    kind: str, mime_type: str | None, data: bytes, reason: str
) -> None:
    details = check(kind, mime_type, data)
    assert details is not None
    assert details.startswith(f"{kind}.link: {reason}"), details


def test_refusals_carry_matching_webex_and_meta_codes() -> None:
    bad_type = unsupported("the file is image/png", field="image.link")
    assert (bad_type.dr.code, bad_type.meta_code, bad_type.title) == (
        "7861",
        131053,
        "Media upload error",
    )
    failed = download_error("the server answered HTTP 404", field="video.link")
    assert (failed.dr.code, failed.meta_code, failed.title) == (
        "7701",
        MEDIA_DOWNLOAD_ERROR,
        "Media download error",
    )
    assert failed.details == "video.link: the server answered HTTP 404"
    for refusal in (bad_type, failed):
        assert dr_for_meta_code(refusal.meta_code) == refusal.dr


def test_sizes_are_checked_against_the_kind() -> None:
    assert check("image", "image/jpeg", JPEG, size=5 * MB) is None
    too_big = check("image", "image/jpeg", JPEG, size=5 * MB + 1)
    assert too_big == "image.link: image files may be at most 5 MB; this one is larger"
    # A Content-Length over the limit refuses before any byte of the body is read.
    assert check("video", "video/mp4", b"", size=40 * MB) is not None
    assert check("document", "application/pdf", PDF, size=100 * MB) is None
    heavy = check("sticker", "image/webp", HEAVY_STATIC)
    assert heavy == (
        f"sticker.link: static stickers may be at most 100 KB; "
        f"this one is {human_size(len(HEAVY_STATIC))}"
    )
    assert check("sticker", "image/webp", ANIMATED, size=500 * KB + 1) is not None


def test_text_cut_inside_a_character_is_still_text() -> None:
    # Two bytes a character after one of one: the 64 KB sample ends inside a character.
    assert check("document", "text/plain", b"x" + "é".encode() * 40_000) is None
    assert sniff(b"x\xc3", complete=False).extensions == {"txt"}
    # Whole, the same bytes are "xÃ" in Latin-1: still text (any common encoding is).
    assert sniff(b"x\xc3", complete=True).extensions == {"txt"}


def test_limits_follow_the_media_rules() -> None:
    assert fetch_limit("image") == MEDIA_RULES["image"].max_bytes == 5 * MB
    assert fetch_limit("document") == 100 * MB
    assert fetch_limit("sticker") == 500 * KB  # an animated sticker may be that large
    assert sample_limit("sticker") == 500 * KB  # Pillow needs all of it
    assert sample_limit("video") == 16 * MB  # the moov box (codecs) may come last
    assert sample_limit("image") == 64 * KB
    assert [human_size(n) for n in (5 * MB, 100 * KB, int(6.2 * MB), 512)] == [
        "5 MB",
        "100 KB",
        "6.2 MB",
        "512 bytes",
    ]


def test_media_links_are_found_in_rendered_payloads() -> None:
    image = render_payload(
        ImageMessage(link="https://cdn.example/a/cat.JPG?sig=1"), "4915112345678"
    )
    assert media_link(image) == MediaLink(
        "image", "https://cdn.example/a/cat.JPG?sig=1", "image/jpeg", "image.link"
    )
    header = render_payload(
        ReplyButtons(
            body="Pick one",
            buttons=(ReplyButton("y", "Yes"),),
            header=ImageMessage(link="https://cdn.example/p.png"),
        ),
        "4915112345678",
    )
    assert media_link(header) == MediaLink(
        "image", "https://cdn.example/p.png", "image/png", "interactive.header.image.link"
    )
    assert media_link(render_payload(ImageMessage(id="1234"), "4915112345678")) is None
    assert media_link(render_payload(Text("hi"), "4915112345678")) is None
    sticker = {"type": "sticker", "sticker": {"link": "https://cdn.example/s"}}
    assert media_link(sticker) == MediaLink(
        "sticker", "https://cdn.example/s", None, "sticker.link"
    )
