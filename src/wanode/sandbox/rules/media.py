"""Uploaded media: Meta's table of types and sizes (cloud-api.md §7); the store is
`wanode.sandbox.state.media`.

Decisions where Meta's behaviour is undocumented (EMULATOR CHOICE):

- An upload of a type no message kind takes answers 100 with Graph's own wording ("Param file
  must be a file with one of the following types: ..."), as the live API does. An upload over
  its type's maximum answers 100 too ("File Too Large"): the same parameter check.
- The `type` field is required, but the file part's `Content-Type` wins when the part has one:
  Meta's refusals name the part's type ("Received file of type 'application/octet-stream'").
  Parameters are dropped (`audio/ogg; codecs=opus` is stored as `audio/ogg`, the name in
  Meta's table).
- A WebP file is an animated sticker (500 KB) when its VP8X header sets the animation flag,
  else a static one (100 KB). No other content sniffing is done.
- Download URLs do not expire; they need the owning number's bearer token, as Meta's do.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from wanode.sandbox.rules.errors import MetaError

_KB = 1024
_MB = 1024 * _KB

# MIME type -> the message kind that takes it.
KIND_OF_TYPE: Mapping[str, str] = MappingProxyType(
    {
        "audio/aac": "audio",
        "audio/amr": "audio",
        "audio/mpeg": "audio",
        "audio/mp4": "audio",
        "audio/ogg": "audio",
        "text/plain": "document",
        "application/pdf": "document",
        "application/msword": "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
        "application/vnd.ms-excel": "document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
        "application/vnd.ms-powerpoint": "document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
        "image/jpeg": "image",
        "image/png": "image",
        "image/webp": "sticker",
        "video/mp4": "video",
        "video/3gpp": "video",
    }
)
MAX_BYTES: Mapping[str, int] = MappingProxyType(
    {
        "audio": 16 * _MB,
        "document": 100 * _MB,
        "image": 5 * _MB,
        "sticker": 100 * _KB,
        "video": 16 * _MB,
    }
)
MAX_ANIMATED_STICKER_BYTES = 500 * _KB


def types_for(kind: str) -> list[str]:
    return [mime for mime, of in KIND_OF_TYPE.items() if of == kind]


def essence(mime_type: str) -> str:
    """`Audio/OGG; codecs=opus` -> `audio/ogg`."""
    return mime_type.split(";", 1)[0].strip().lower()


def upload_type(part_type: str | None, declared: str | None) -> str:
    """The MIME type of an upload: the file part's `Content-Type`, else the `type` field."""
    if declared is None:
        raise MetaError(100, "type: the parameter is required")
    mime_type = essence(part_type or declared)
    if mime_type not in KIND_OF_TYPE:
        raise MetaError(
            100,
            "file: Param file must be a file with one of the following types: "
            f"{', '.join(KIND_OF_TYPE)}. Received file of type {mime_type!r}.",
        )
    return mime_type


def check_size(data: bytes, mime_type: str) -> None:
    kind = KIND_OF_TYPE[mime_type]
    limit = MAX_BYTES[kind]
    if kind == "sticker" and animated_webp(data):
        limit = MAX_ANIMATED_STICKER_BYTES
    if len(data) > limit:
        raise MetaError(
            100,
            f"file: File Too Large: {len(data)} bytes; {mime_type} files "
            f"may have at most {limit} bytes",
        )


def animated_webp(data: bytes) -> bool:
    # RIFF container: "RIFF" size "WEBP", then an extended header chunk "VP8X" whose first
    # payload byte (offset 20) carries the animation flag in bit 1.
    return data[8:16] == b"WEBPVP8X" and len(data) > 20 and bool(data[20] & 0x02)
