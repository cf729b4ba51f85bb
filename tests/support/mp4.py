"""Minimal MP4 / 3GPP files built box by box: as much as a codec check reads, no media."""

from __future__ import annotations

import struct

KB = 1024


def box(kind: bytes, *children: bytes) -> bytes:
    payload = b"".join(children)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, *children: bytes) -> bytes:
    return box(kind, b"\x00\x00\x00\x00", *children)


def trak(handler: bytes, *codecs: bytes) -> bytes:
    """A track of `handler` (`vide`, `soun`...) whose sample entries are `codecs` (`avc1`...)."""
    # A sample entry: 6 reserved bytes and a data reference index, then codec-specific fields
    # the parser does not read.
    entries = [box(codec, bytes(6), b"\x00\x01", bytes(70)) for codec in codecs]
    hdlr = full_box(b"hdlr", bytes(4), handler, bytes(12), b"name\x00")
    stsd = full_box(b"stsd", struct.pack(">I", len(entries)), *entries)
    return box(
        b"trak",
        full_box(b"tkhd", bytes(80)),
        box(b"mdia", full_box(b"mdhd", bytes(20)), hdlr, box(b"minf", box(b"stbl", stsd))),
    )


FTYP = box(b"ftyp", b"isom", b"\x00\x00\x02\x00", b"isomiso2avc1mp41")
GPP_FTYP = box(b"ftyp", b"3gp4", b"\x00\x00\x00\x00", b"isom3gp4")
H264 = trak(b"vide", b"avc1")
HEVC = trak(b"vide", b"hvc1")
AAC = trak(b"soun", b"mp4a")


def mp4(*traks: bytes, moov_last: bool = False, media: int = 1024, ftyp: bytes = FTYP) -> bytes:
    moov = box(b"moov", full_box(b"mvhd", bytes(96)), *traks)
    mdat = box(b"mdat", bytes(media))
    return ftyp + (mdat + moov if moov_last else moov + mdat)


def large_mdat_first(*traks: bytes) -> bytes:
    """The media data in a 64-bit-size box, and the moov box after 200 KB of it."""
    payload = bytes(200 * KB)
    mdat = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + len(payload)) + payload
    return FTYP + mdat + box(b"moov", full_box(b"mvhd", bytes(96)), *traks)
