"""Media messages (image, audio, video, document, sticker) and the media objects of headers.

cloud-api.md §1.2: exactly one of `id` (an uploaded media id) or `link` (http/https);
`caption` (at most 1024) for image, video and document; `filename` for document; `voice` for
audio. A key another kind takes is still an unknown key here (100), named with the reason.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.fields import boolean, http_url, obj, optional_string, string
from wanode.sandbox.rules.kinds.content import Content, KindCheck, MediaRef

MAX_CAPTION = 1024
EXTRAS: dict[str, tuple[str, ...]] = {
    "image": ("caption",),
    "video": ("caption",),
    "document": ("caption", "filename"),
    "audio": ("voice",),
    "sticker": (),
}
_ONLY_FOR = {
    "caption": "only image, video and document messages take a caption",
    "filename": "only documents take a filename",
    "voice": "only audio messages can be voice notes",
}


def media_object(
    value: Any, path: str, kind: str, extras: Collection[str]
) -> tuple[dict[str, Any], MediaRef]:
    """Check a media object at `path`; returns it and the media (id or link) it sends."""
    if isinstance(value, dict):
        for key in value:
            if key in _ONLY_FOR and key not in extras:
                raise MetaError(100, f"{path}.{key}: unknown parameter; {_ONLY_FOR[key]}")
    media = obj(value, path, ("id", "link", *extras))
    if "id" in media and "link" in media:
        raise MetaError(131009, f"{path}: give either id or link, not both")
    link = media_id = None
    if "link" in media:
        link = http_url(media["link"], f"{path}.link")
    elif "id" in media:
        media_id = string(media["id"], f"{path}.id")
    else:
        raise MetaError(131008, f"{path}: one of id or link is required")
    optional_string(media.get("caption"), f"{path}.caption", max_len=MAX_CAPTION)
    optional_string(media.get("filename"), f"{path}.filename")
    voice = "voice" in media and boolean(media["voice"], f"{path}.voice")
    at = f"{path}.link" if link is not None else f"{path}.id"
    return media, MediaRef(at, kind, media_id, link=link, voice=voice)


def describe(kind: str, media: dict[str, Any]) -> str:
    """`[image] A cat`, `[document] invoice.pdf: March`, `[voice note] media 123`."""
    label = "voice note" if media.get("voice") else kind
    words = [word for word in (media.get("filename"), media.get("caption")) if word]
    shown = ": ".join(words) if words else media.get("link") or f"media {media['id']}"
    return f"[{label}] {shown}"


def check(kind: str) -> KindCheck:
    def check_media(body: Any, config: SandboxConfig) -> Content:
        media, ref = media_object(body, kind, kind, EXTRAS[kind])
        return Content(describe(kind, media), (ref,))

    return check_media
