"""What a file really is, from its first bytes (magic numbers), whatever its link's name says.

puremagic answers with every format whose signature matches, best first: a ZIP header matches
.docx, .pptx and .xlsx alike, an OLE header .doc, .ppt and .xls. So a file is described by the
set of MEDIA_RULES extensions its bytes are consistent with, and a declared type is accepted
when one of its extensions is in that set.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import puremagic

from wanode.messages.media import MEDIA_RULES

SAMPLE_BYTES = 64 * 1024  # the longest signature we rely on sits well inside this

_MIME_BY_EXTENSION = {
    ext: mime
    for rule in MEDIA_RULES.values()
    for mime, extensions in rule.formats.items()
    for ext in extensions
}

# puremagic's names for formats MEDIA_RULES names otherwise. An audio-only MP4 is often
# branded like a video (isom, mp42), so an .mp4 signature also stands for .m4a.
_OUR_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "jpe": ("jpg",),
    "jfif": ("jpg",),
    "mpga": ("mp3",),  # MPEG audio frames with no ID3 tag in front
    "oga": ("ogg",),
    "opus": ("ogg",),
    "3g2": ("3gp",),
    "3ga": ("3gp",),
    "f4a": ("m4a",),
    "mp4": ("mp4", "m4a"),
}


@dataclass(frozen=True)
class Sniffed:
    extensions: frozenset[str]  # MEDIA_RULES extensions the bytes are consistent with
    mime_type: str | None  # the likeliest type, to name in a refusal; None if unrecognised

    def describe(self) -> str:
        return self.mime_type or "of no recognised type"


def sniff(sample: bytes, *, complete: bool) -> Sniffed:
    """Identify `sample`, the first bytes of a file (`complete` when it is the whole file)."""
    try:
        matches = puremagic.magic_string(sample) if sample else []
    except puremagic.PureError:  # raised when no signature matches at all
        matches = []
    known = [
        ext
        for match in matches
        for ext in _our_extensions(match.extension)
        if ext in _MIME_BY_EXTENSION
    ]
    if "ogg" in known:
        # WhatsApp takes OGG with the Opus codec only; Vorbis and the rest are refused.
        codec = _ogg_codec(sample)
        if codec != "opus":
            mime_type = "audio/ogg" if codec is None else f"audio/ogg; codecs={codec}"
            return Sniffed(frozenset(known) - {"ogg"}, mime_type)
    if known:
        return Sniffed(frozenset(known), _MIME_BY_EXTENSION[known[0]])
    # Text has no magic: a text-like match (HTML, JSON) still counts as text/plain.
    if _is_text(sample, complete=complete):
        mime_types = [m.mime_type for m in matches if m.mime_type]
        return Sniffed(frozenset({"txt"}), mime_types[0] if mime_types else "text/plain")
    return Sniffed(frozenset(), next((m.mime_type for m in matches if m.mime_type), None))


def _our_extensions(extension: str) -> tuple[str, ...]:
    name = extension.lstrip(".").lower()
    return _OUR_EXTENSIONS.get(name, (name,))


def _ogg_codec(sample: bytes) -> str | None:
    # The first Ogg page: a 27-byte header whose last byte counts the segment-table entries,
    # the table, then the codec's identification header.
    if len(sample) < 27:
        return None
    start = 27 + sample[26]
    ident = sample[start : start + 8]
    if ident == b"OpusHead":
        return "opus"
    if ident.startswith(b"\x01vorbis"):
        return "vorbis"
    return None


# Control characters a text document may hold: tab, line feed, vertical tab, form feed,
# carriage return, DOS's end-of-file mark and escape (ANSI colours in a log). Any other C0
# control, NUL above all, marks binary data.
_TEXT_CONTROLS = frozenset("\t\n\v\f\r\x1a\x1b")
_BINARY_BYTE = re.compile(rb"[\x00-\x08\x0e-\x19\x1c-\x1f]")
_BOMS = (
    # UTF-32 first: its little-endian mark begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _is_text(sample: bytes, *, complete: bool) -> bool:
    """Plain text in any common encoding: UTF-8, UTF-16 or UTF-32 (with a byte-order mark, or
    UTF-16 without one), or a single- or multi-byte legacy encoding (Latin-1, Windows-1252,
    ISO-8859-x, KOI8-R, Shift JIS, GB18030...). Those last cannot be told apart from their
    bytes, but none of them uses the C0 control bytes for anything but controls."""
    if not sample:
        return False
    encoding = next((name for bom, name in _BOMS if sample.startswith(bom)), None)
    if encoding is None and b"\x00" in sample:
        encoding = _utf16_order(sample)
    if encoding is not None:
        return _decodes_to_text(sample, encoding, complete=complete)
    return _BINARY_BYTE.search(sample) is None


def _utf16_order(sample: bytes) -> str | None:
    # Text in UTF-16 without a mark is mostly characters below U+0100, whose high byte is 0:
    # every other byte is NUL, at odd offsets in little-endian order, even in big-endian.
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if max(even, odd) < len(sample) // 4 or min(even, odd) > max(even, odd) // 8:
        return None
    return "utf-16-le" if odd > even else "utf-16-be"


def _decodes_to_text(sample: bytes, encoding: str, *, complete: bool) -> bool:
    try:
        # A sample cut short may end inside a character: only a whole file must end on a
        # character boundary.
        decoded = codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return not any(ch < " " and ch not in _TEXT_CONTROLS for ch in decoded)
