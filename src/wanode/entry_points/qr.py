"""QR codes of links, as PNG or SVG (segno).

Error correction M (15 %) survives print and screen glare without making a 40-odd character
link dense; a 4-module quiet zone is what the QR standard asks for; 10 pixels a module gives
a ~330 px PNG, large enough for a page or a poster proof.
"""

from __future__ import annotations

import io
from typing import Final

import segno

MEDIA_TYPES: Final = {"png": "image/png", "svg": "image/svg+xml"}
DEFAULT_SCALE: Final = 10
DEFAULT_BORDER: Final = 4


def qr_image(
    link: str, kind: str, *, scale: int = DEFAULT_SCALE, border: int = DEFAULT_BORDER
) -> bytes:
    """The QR code of `link` as `kind` (`png` or `svg`) bytes."""
    if kind not in MEDIA_TYPES:
        raise ValueError(f"kind must be one of {', '.join(MEDIA_TYPES)}, not {kind!r}")
    code = segno.make(link, error="m", micro=False)
    buffer = io.BytesIO()
    if kind == "svg":
        # An opaque light colour: on a dark page a transparent quiet zone would not scan.
        code.save(buffer, kind="svg", scale=scale, border=border, light="#fff", svgclass=None)
    else:
        code.save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()
