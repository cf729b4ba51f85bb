"""Finding the media link in a rendered Cloud API payload, if the message has one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wanode.messages.media import MEDIA_RULES

# Reply buttons may carry a media header; list messages take text headers only.
_HEADER_KINDS = ("image", "video", "document")


@dataclass(frozen=True)
class MediaLink:
    kind: str  # a MEDIA_RULES key
    link: str
    mime_type: str | None  # derived from the link's extension: payloads carry no MIME type
    field: str  # where the link sits in the payload, e.g. `image.link`


def media_link(payload: Mapping[str, Any]) -> MediaLink | None:
    """The link a media message (or a reply-buttons header) is sent by; None for messages sent
    by media id and for messages without media."""
    kind = payload.get("type")
    if isinstance(kind, str) and kind in MEDIA_RULES:
        return _link(kind, payload.get(kind), kind)
    if kind == "interactive":
        interactive = payload.get("interactive")
        if isinstance(interactive, Mapping) and interactive.get("type") == "button":
            header = interactive.get("header")
            if isinstance(header, Mapping) and header.get("type") in _HEADER_KINDS:
                kind = header["type"]
                return _link(kind, header.get(kind), f"interactive.header.{kind}")
    return None


def _link(kind: str, media: Any, path: str) -> MediaLink | None:
    link = media.get("link") if isinstance(media, Mapping) else None
    if not isinstance(link, str):
        return None
    name = urlsplit(link).path.rsplit("/", 1)[-1]
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    return MediaLink(kind, link, MEDIA_RULES[kind].mime_type_for(extension), f"{path}.link")
