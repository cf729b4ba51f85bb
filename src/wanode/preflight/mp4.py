"""The codecs of an MP4 or 3GPP file, read from its sample descriptions. Pure.

An ISO base media file is a sequence of boxes (`size`, `type`, payload). Each track
(`moov/trak`) says what it holds in `mdia/hdlr` (`vide`, `soun`, ...) and how it is coded in
the sample entries of `mdia/minf/stbl/stsd`, whose box types are the codecs' four-character
codes: `avc1`/`avc3` for H.264, `hvc1`/`hev1` for HEVC, `mp4a` for AAC, `s263` for H.263,
`samr` for AMR. WhatsApp plays H.264 video with AAC audio only, at most one audio stream
(cloud-api.md, media types; the spec's "MP4 with H.264 + AAC").

The `moov` box may come after the media data (`mdat`), so the whole file is read for videos.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

VIDEO_CODECS = frozenset({"avc1", "avc3"})
AUDIO_CODECS = frozenset({"mp4a"})
MAX_AUDIO_TRACKS = 1

_NAMES = {
    "avc1": "H.264",
    "avc3": "H.264",
    "hvc1": "HEVC (H.265)",
    "hev1": "HEVC (H.265)",
    "dvh1": "Dolby Vision",
    "dvhe": "Dolby Vision",
    "av01": "AV1",
    "vp08": "VP8",
    "vp09": "VP9",
    "mp4v": "MPEG-4 Part 2",
    "s263": "H.263",
    "h263": "H.263",
    "mp4a": "AAC",
    "samr": "AMR",
    "sawb": "AMR-WB",
    "ac-3": "AC-3",
    "ec-3": "E-AC-3",
    "Opus": "Opus",
    "fLaC": "FLAC",
    ".mp3": "MP3",
    "alac": "ALAC",
}


@dataclass(frozen=True)
class Track:
    handler: str  # `vide`, `soun`, ...
    codecs: tuple[str, ...]  # the sample entries' four-character codes


def tracks(data: bytes) -> tuple[Track, ...] | None:
    """The tracks described by the file's `moov` box; None when there is none to read (not an
    ISO base media file, or the box lies beyond `data`)."""
    # Views, not copies: the media data may be most of 16 MB.
    moov = next((payload for kind, payload in _boxes(memoryview(data)) if kind == "moov"), None)
    if moov is None:
        return None
    found = []
    for kind, trak in _boxes(moov):
        if kind != "trak":
            continue
        mdia = _child(trak, "mdia")
        if mdia is None:
            continue
        hdlr = _child(mdia, "hdlr")
        handler = _fourcc(bytes(hdlr[8:12])) if hdlr is not None and len(hdlr) >= 12 else ""
        stsd = _path(mdia, "minf", "stbl", "stsd")
        # A full box: version and flags (4 bytes), the entry count (4), then the entries.
        codecs = tuple(kind for kind, _ in _boxes(stsd[8:])) if stsd is not None else ()
        found.append(Track(handler, codecs))
    return tuple(found)


def codec_problem(data: bytes) -> str | None:
    """Why WhatsApp would not play this MP4/3GPP video, or None (also when it cannot tell)."""
    found = tracks(data)
    if found is None:
        return None
    video = [t for t in found if t.handler == "vide"]
    audio = [t for t in found if t.handler == "soun"]
    if not video:
        return "the file has no video track"
    for track in video:
        bad = [c for c in track.codecs if c not in VIDEO_CODECS]
        if bad or not track.codecs:
            return f"the video is {describe(bad)}; WhatsApp plays H.264 video (with AAC audio) only"
    for track in audio:
        bad = [c for c in track.codecs if c not in AUDIO_CODECS]
        if bad or not track.codecs:
            return f"the audio is {describe(bad)}; WhatsApp plays AAC audio (with H.264 video) only"
    if len(audio) > MAX_AUDIO_TRACKS:
        return f"the file has {len(audio)} audio tracks; WhatsApp plays at most one"
    return None


def describe(codecs: list[str]) -> str:
    """`HEVC (H.265) (hvc1)`: a codec's name and its code, or `of no codec` for none."""
    if not codecs:
        return "of no codec"
    return ", ".join(f"{_NAMES[c]} ({c})" if c in _NAMES else repr(c) for c in codecs)


def _boxes(data: memoryview) -> Iterator[tuple[str, memoryview]]:
    """The boxes directly in `data`, in order; stops at the first that does not fit."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > len(data):
                return
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - offset
        if size < header or offset + size > len(data):
            return
        yield _fourcc(kind), data[offset + header : offset + size]
        offset += size


def _child(data: memoryview, kind: str) -> memoryview | None:
    return next((payload for found, payload in _boxes(data) if found == kind), None)


def _path(data: memoryview, *kinds: str) -> memoryview | None:
    current: memoryview | None = data
    for kind in kinds:
        if current is None:
            return None
        current = _child(current, kind)
    return current


def _fourcc(raw: bytes) -> str:
    return raw.decode("latin-1")
