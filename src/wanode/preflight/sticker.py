"""Stickers: a WebP of exact dimensions, whose size limit depends on whether it is animated."""

from __future__ import annotations

import io

from PIL import Image

from wanode.messages.media import MediaRule
from wanode.preflight.refusal import Refusal, human_size, unsupported


def check_sticker(rule: MediaRule, data: bytes, size: int, *, field: str) -> Refusal | None:
    """`data` is the whole file (`size` bytes): Pillow walks the frames to tell an animation
    apart."""
    try:
        with Image.open(io.BytesIO(data), formats=["WEBP"]) as image:
            width, height = image.size
            animated = bool(getattr(image, "is_animated", False))
    except (OSError, ValueError, Image.DecompressionBombError):
        return unsupported("the file is not a readable WebP image", field=field)
    limit = rule.max_bytes
    if animated and rule.max_animated_bytes is not None:
        limit = rule.max_animated_bytes
    if size > limit:
        what = "animated" if animated else "static"
        return unsupported(
            f"{what} stickers may be at most {human_size(limit)}; this one is {human_size(size)}",
            field=field,
        )
    if rule.dimensions is not None and (width, height) != rule.dimensions:
        want_width, want_height = rule.dimensions
        return unsupported(
            f"the sticker is {width}x{height} pixels; stickers must be exactly "
            f"{want_width}x{want_height}",
            field=field,
        )
    return None
