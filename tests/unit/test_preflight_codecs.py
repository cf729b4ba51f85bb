"""Preflight beyond magic bytes: an MP4's codecs (H.264 + AAC only) and plain text in any common
encoding. The MP4s are built box by box (tests/support/mp4.py), as small as a parser needs
them."""

from __future__ import annotations

import pytest
from tests.support.mp4 import AAC, FTYP, GPP_FTYP, H264, HEVC, box, large_mdat_first, mp4, trak

from wanode.preflight import check_media, sample_limit
from wanode.preflight.mp4 import Track, tracks


def check(kind: str, mime_type: str | None, data: bytes) -> str | None:
    refusal = check_media(
        kind, mime_type, data[: sample_limit(kind)], len(data), field=f"{kind}.link"
    )
    if refusal is None:
        return None
    assert (refusal.dr.code, refusal.meta_code) == ("7861", 131053)
    return refusal.details


def test_the_tracks_and_their_codecs_are_read() -> None:
    assert tracks(mp4(H264, AAC)) == (Track("vide", ("avc1",)), Track("soun", ("mp4a",)))
    assert tracks(mp4(HEVC, moov_last=True)) == (Track("vide", ("hvc1",)),)
    assert tracks(large_mdat_first(H264, AAC)) == (
        Track("vide", ("avc1",)),
        Track("soun", ("mp4a",)),
    )
    # No moov box to read: nothing is claimed about the file.
    assert tracks(FTYP + box(b"mdat", bytes(64))) is None
    assert tracks(b"not an mp4 at all") is None


@pytest.mark.parametrize(
    ("mime_type", "data"),
    [
        ("video/mp4", mp4(H264, AAC)),
        ("video/mp4", mp4(H264)),  # no audio at all is fine
        ("video/mp4", mp4(trak(b"vide", b"avc3"), AAC)),
        ("video/mp4", mp4(H264, AAC, moov_last=True)),
        ("video/mp4", large_mdat_first(H264, AAC)),
        ("video/mp4", mp4(H264, AAC, trak(b"text", b"tx3g"))),  # subtitles are not played
        ("video/3gpp", mp4(H264, AAC, ftyp=GPP_FTYP)),
        (None, mp4(H264, AAC)),
    ],
)
def test_h264_with_aac_passes(mime_type: str | None, data: bytes) -> None:
    assert check("video", mime_type, data) is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (mp4(HEVC, AAC), "the video is HEVC (H.265) (hvc1); WhatsApp plays H.264 video"),
        (mp4(trak(b"vide", b"hev1"), AAC), "the video is HEVC (H.265) (hev1)"),
        (mp4(trak(b"vide", b"av01"), AAC), "the video is AV1 (av01)"),
        (large_mdat_first(HEVC, AAC), "the video is HEVC (H.265) (hvc1)"),
        (mp4(HEVC, AAC, moov_last=True), "the video is HEVC (H.265) (hvc1)"),
        (mp4(H264, trak(b"soun", b"ac-3")), "the audio is AC-3 (ac-3); WhatsApp plays AAC audio"),
        (mp4(H264, trak(b"soun", b"Opus")), "the audio is Opus (Opus)"),
        (mp4(H264, trak(b"soun", b"xyz1")), "the audio is 'xyz1'"),
        (mp4(H264, AAC, AAC), "the file has 2 audio tracks; WhatsApp plays at most one"),
        (mp4(AAC), "the file has no video track"),
        (mp4(trak(b"vide")), "the video is of no codec"),
    ],
)
def test_other_codecs_are_refused(data: bytes, reason: str) -> None:
    details = check("video", "video/mp4", data)
    assert details is not None
    assert details.startswith(f"video.link: {reason}"), details


def test_a_3gpp_with_h263_and_amr_is_refused() -> None:
    data = mp4(trak(b"vide", b"s263"), trak(b"soun", b"samr"), ftyp=GPP_FTYP)
    assert check("video", "video/3gpp", data) == (
        "video.link: the video is H.263 (s263); WhatsApp plays H.264 video (with AAC audio) only"
    )


def test_truncated_and_damaged_boxes_do_not_crash() -> None:
    good = mp4(H264, AAC)
    for cut in range(0, len(good), 7):
        tracks(good[:cut])
    damaged = bytearray(good)
    for offset in range(len(FTYP), len(good), 13):
        damaged[offset] ^= 0xFF
        tracks(bytes(damaged))


TEXT = "Café crème, 2 x 3 € — ça va? Ünïcödé\r\n\tthe end\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        TEXT.encode("utf-8-sig"),
        TEXT.encode("latin-1", errors="replace"),
        TEXT.encode("cp1252"),
        TEXT.encode("utf-16"),  # with its byte-order mark
        TEXT.encode("utf-16-le"),
        TEXT.encode("utf-16-be"),
        TEXT.encode("utf-32"),
        "Привет, мир\n".encode("koi8-r"),
        "Привет, мир\n".encode("cp1251"),
        "こんにちは世界\n".encode("shift_jis"),
        "你好 世界\n".encode("gb18030"),
        b"\x1b[31mred\x1b[0m log line\n\x1a",
    ],
    ids=lambda data: repr(data[:12]),
)
def test_plain_text_in_any_common_encoding_passes(data: bytes) -> None:
    assert check("document", "text/plain", data) is None
    assert check("document", None, data) is None


def test_a_latin1_text_longer_than_the_sample_passes() -> None:
    data = ("Ærøskøbing, Århus, Köln. " * 4000).encode("latin-1")
    assert len(data) > sample_limit("document")
    assert check("document", "text/plain", data) is None


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\x03binary",
        b"caf\xe9\x00\x07 with a bell and a NUL",
        bytes(range(256)) * 4,
        b"\xff\xfe" + b"\x00\xd8",  # UTF-16 with a lone surrogate
    ],
)
def test_binary_data_is_still_not_text(data: bytes) -> None:
    details = check("document", "text/plain", data)
    assert details is not None and "but the message says text/plain" in details
