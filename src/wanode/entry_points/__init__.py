"""Entry points (spec §5, cloud-api.md §10): click-to-chat links and their QR codes. Pure."""

from wanode.entry_points.links import (
    IMAGE_FORMATS,
    MAX_PREFILLED,
    click_to_chat,
    deep_link,
)
from wanode.entry_points.qr import MEDIA_TYPES, qr_image

__all__ = [
    "IMAGE_FORMATS",
    "MAX_PREFILLED",
    "MEDIA_TYPES",
    "click_to_chat",
    "deep_link",
    "qr_image",
]
