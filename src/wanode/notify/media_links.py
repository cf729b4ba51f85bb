"""Signed, expiring links to inbound media, for events that leave wanode. Pure.

A subscriber (or a flow's HTTP node) gets an attachment's `url` and should be able to fetch it
as it is, without wanode's API key: the link is absolute (the service's public base URL) and
carries `expires` (Unix seconds) and `token`, an HMAC-SHA256 of the media id and the expiry.

The token's key is derived from the app's secret (the one WhatsApp signs its webhooks with):
every process of a deployment already shares it through the database, it never leaves
wanode, and a link is bound to the app whose customer sent the media. Rotating the app secret
revokes every link. The expiry counts from when the customer sent the message, so an event's
body is the same however often it is built (and retried).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode

from wanode.config import Settings

_KEY_LABEL = b"wanode inbound media link"


def media_path(media_id: str) -> str:
    """Where wanode serves an inbound media file once it has downloaded it."""
    return f"/v1/media/{media_id}"


@dataclass(frozen=True)
class MediaLinks:
    base_url: str  # the service's public base URL, without a trailing slash
    ttl: float  # seconds a link stays valid after the message was sent

    def url(self, media_id: str, *, secret: str, sent_at: float) -> str:
        expires = int(sent_at + self.ttl)
        query = urlencode({"expires": expires, "token": token(media_id, expires, secret)})
        return f"{self.base_url.rstrip('/')}{media_path(media_id)}?{query}"


def token(media_id: str, expires: int, secret: str) -> str:
    key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
    digest = hmac.new(key, f"{media_id}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def valid(media_id: str, expires: str, given: str, secret: str, *, now: float) -> bool:
    """Whether `given` is the token of `media_id` until `expires`, and that is still ahead."""
    if not (expires.isascii() and expires.isdigit() and len(expires) <= 12) or int(expires) < now:
        return False
    expected = token(media_id, int(expires), secret)
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def media_links(settings: Settings) -> MediaLinks:
    """The links of a service configured by `settings`: on its public base URL."""
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return MediaLinks(base_url=base.rstrip("/"), ttl=settings.media_link_ttl)
