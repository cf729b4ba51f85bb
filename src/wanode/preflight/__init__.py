"""Media preflight: fetch a message's media link and check the file before WhatsApp does.

A bad file (wrong real type, too large, a sticker of the wrong size, a link that does not
download) is then reported by us at once, with a reason naming the field, instead of by Meta
later. The decision is pure (`check_media`, over the first bytes and the size); `Preflight` adds
the fetching and a per-link verdict cache.
"""

from wanode.preflight.check import check_media, fetch_limit, sample_limit
from wanode.preflight.client import Preflight
from wanode.preflight.payload import MediaLink, media_link
from wanode.preflight.refusal import (
    MEDIA_DOWNLOAD_ERROR,
    MEDIA_TYPE_ERROR,
    Refusal,
    download_error,
    unsupported,
)
from wanode.preflight.sniff import Sniffed, sniff

__all__ = [
    "MEDIA_DOWNLOAD_ERROR",
    "MEDIA_TYPE_ERROR",
    "MediaLink",
    "Preflight",
    "Refusal",
    "Sniffed",
    "check_media",
    "download_error",
    "fetch_limit",
    "media_link",
    "sample_limit",
    "sniff",
    "unsupported",
]
