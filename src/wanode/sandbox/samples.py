"""Sample media served by the sandbox, so that media messages work offline out of the box.

`GET /samples/{name}` serves small, real files of every media kind: what a media preflight
fetches and sniffs is what it would get from a real server. They are generated on first use.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from functools import cache

from PIL import Image, ImageDraw


def _picture(size: tuple[int, int], fmt: str, **options: object) -> bytes:
    image = Image.new("RGB", size, (37, 211, 102))
    ImageDraw.Draw(image).ellipse(
        (size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(255, 255, 255)
    )
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _mp4() -> bytes:
    # An ISO base media file: `ftyp` (brand mp42) and an empty `mdat`, enough to be sniffed.
    ftyp = b"ftyp" + b"mp42" + struct.pack(">I", 0) + b"mp42isom"
    return struct.pack(">I", 8 + len(ftyp) - 4) + ftyp + struct.pack(">I", 8) + b"mdat"


def _ogg_opus() -> bytes:
    # One Ogg page carrying an OpusHead packet: the start of every OGG/OPUS voice note.
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    header = b"OggS" + bytes([0, 2]) + struct.pack("<qIIIB", 0, 1, 0, 0, 1) + bytes([len(head)])
    return header + head


def _pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


SAMPLES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "photo.jpg": ("image/jpeg", lambda: _picture((640, 480), "JPEG", quality=80)),
    "logo.png": ("image/png", lambda: _picture((256, 256), "PNG")),
    "sticker.webp": ("image/webp", lambda: _picture((512, 512), "WEBP", quality=60)),
    "clip.mp4": ("video/mp4", _mp4),
    "voice.ogg": ("audio/ogg; codecs=opus", _ogg_opus),
    "invoice.pdf": ("application/pdf", _pdf),
    "notes.txt": ("text/plain", lambda: b"Table 7, 8 pm, two guests.\n"),
}


@cache
def sample(name: str) -> tuple[str, bytes] | None:
    """The MIME type and bytes of the sample called `name`, if there is one."""
    found = SAMPLES.get(name)
    return None if found is None else (found[0], found[1]())
