"""Media messages: image, audio, video, document and sticker, sent by public link or media id.

`MEDIA_RULES` is the spec's table of formats and sizes per kind; building a message checks what
can be checked without fetching the file (link scheme and extension, MIME type). Sizes and sticker
dimensions are there for the media preflight step, which has the bytes.

The MIME type is optional. With a link and no MIME type it is derived from the link's extension
(`.ogg` gives `audio/ogg; codecs=opus`, the only OGG the spec allows; preflight confirms the
codec). With a media id and no MIME type it stays unknown: the upload already fixed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlsplit

from wanode.codes import DR_CODES, SYNC
from wanode.messages._fields import flag, http_url, obj, optional_text, renamed, text
from wanode.messages.envelope import Message
from wanode.messages.errors import InvalidMessage

UNSUPPORTED_MIME = DR_CODES["7861"].code
MAX_CAPTION = 1024
OGG_OPUS = "audio/ogg; codecs=opus"

_KB = 1024
_MB = 1024 * _KB


@dataclass(frozen=True)
class MediaRule:
    """What the spec allows for one media kind."""

    formats: Mapping[str, tuple[str, ...]]  # MIME type -> file extensions (lower case, no dot)
    max_bytes: int
    max_animated_bytes: int | None = None
    dimensions: tuple[int, int] | None = None  # exact (width, height) in pixels

    @property
    def extensions(self) -> tuple[str, ...]:
        return tuple(ext for exts in self.formats.values() for ext in exts)

    def mime_type_for(self, extension: str) -> str | None:
        return next((mime for mime, exts in self.formats.items() if extension in exts), None)


MEDIA_RULES: Mapping[str, MediaRule] = MappingProxyType(
    {
        "image": MediaRule(
            MappingProxyType({"image/jpeg": ("jpg", "jpeg"), "image/png": ("png",)}), 5 * _MB
        ),
        "audio": MediaRule(
            MappingProxyType(
                {
                    "audio/aac": ("aac",),
                    "audio/amr": ("amr",),
                    "audio/mpeg": ("mp3",),
                    "audio/mp4": ("m4a",),
                    OGG_OPUS: ("ogg",),
                }
            ),
            16 * _MB,
        ),
        "video": MediaRule(
            MappingProxyType({"video/mp4": ("mp4",), "video/3gpp": ("3gp", "3gpp")}), 16 * _MB
        ),
        "document": MediaRule(
            MappingProxyType(
                {
                    "text/plain": ("txt",),
                    "application/pdf": ("pdf",),
                    "application/msword": ("doc",),
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
                        "docx",
                    ),
                    "application/vnd.ms-powerpoint": ("ppt",),
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
                        "pptx",
                    ),
                    "application/vnd.ms-excel": ("xls",),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
                }
            ),
            100 * _MB,
        ),
        "sticker": MediaRule(
            MappingProxyType({"image/webp": ("webp",)}),
            100 * _KB,
            max_animated_bytes=500 * _KB,
            dimensions=(512, 512),
        ),
    }
)


def canonical_mime_type(value: str) -> str:
    """Lower case, parameters as `; name=value` (so `Audio/OGG;codecs="opus"` matches)."""
    essence, *params = value.split(";")
    parts = [essence.strip().lower()]
    for param in params:
        name, _, val = param.partition("=")
        val = val.strip().strip('"').lower()
        parts.append(f"{name.strip().lower()}={val}")
    return "; ".join(parts)


@dataclass(frozen=True, kw_only=True)
class _Media(Message):
    """Exactly one of `link` (public http(s) URL ending in the kind's extension) or `id`."""

    link: str | None = None
    id: str | None = None
    mime_type: str | None = None

    def __post_init__(self) -> None:
        rule = MEDIA_RULES[self.kind]
        if self.link is None and self.id is None:
            raise InvalidMessage(
                "link", "a URL or a media id is mandatory", code=SYNC.MANDATORY_MISSING
            )
        if self.link is not None and self.id is not None:
            raise InvalidMessage("id", "must not be given together with a URL")
        if self.link is None:
            text("id", self.id)
        else:
            http_url("link", self.link)
        # An unsupported type (a GIF, say) is reported as such before the URL's extension is.
        mime_type = None if self.mime_type is None else self._supported(rule, self.mime_type)
        if self.link is not None:
            extension = self._extension(rule, self.link)
            if mime_type is None:
                mime_type = rule.mime_type_for(extension)
            elif extension not in rule.formats[mime_type]:
                raise InvalidMessage(
                    "mime_type",
                    f"{mime_type} does not match the URL's .{extension} extension",
                    code=UNSUPPORTED_MIME,
                )
        object.__setattr__(self, "mime_type", mime_type)

    def _supported(self, rule: MediaRule, value: str) -> str:
        mime_type = canonical_mime_type(text("mime_type", value))
        if mime_type not in rule.formats:
            hint = f" (only {OGG_OPUS})" if mime_type == "audio/ogg" else ""
            raise InvalidMessage(
                "mime_type",
                f"{mime_type} is not supported for {self.kind}{hint}; "
                f"use one of {', '.join(rule.formats)}",
                code=UNSUPPORTED_MIME,
            )
        return mime_type

    def _extension(self, rule: MediaRule, link: str) -> str:
        name = urlsplit(link).path.rsplit("/", 1)[-1]
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        if extension not in rule.extensions:
            raise InvalidMessage(
                "link",
                f"must end in a {self.kind} file extension "
                f"({', '.join('.' + e for e in rule.extensions)})",
            )
        return extension

    def media_object(self) -> dict[str, Any]:
        """The Cloud API media object (`link` or `id` plus the kind's extras)."""
        source = {"link": self.link} if self.link is not None else {"id": self.id}
        return {**source, **self._extras()}

    def _extras(self) -> dict[str, Any]:
        return {}

    def content(self) -> dict[str, Any]:
        return {"type": self.kind, self.kind: self.media_object()}


@dataclass(frozen=True, kw_only=True)
class _Captioned(_Media):
    caption: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        optional_text("caption", self.caption, max_len=MAX_CAPTION)

    def _extras(self) -> dict[str, Any]:
        return {} if self.caption is None else {"caption": self.caption}


@dataclass(frozen=True, kw_only=True)
class Image(_Captioned):
    kind: ClassVar[str] = "image"


@dataclass(frozen=True, kw_only=True)
class Video(_Captioned):
    kind: ClassVar[str] = "video"


@dataclass(frozen=True, kw_only=True)
class Document(_Captioned):
    filename: str | None = None

    kind: ClassVar[str] = "document"

    def __post_init__(self) -> None:
        super().__post_init__()
        optional_text("filename", self.filename)

    def _extras(self) -> dict[str, Any]:
        extras = super()._extras()
        return extras if self.filename is None else {**extras, "filename": self.filename}


@dataclass(frozen=True, kw_only=True)
class Audio(_Media):
    voice: bool = False  # a voice note; WhatsApp requires OGG/OPUS for those

    kind: ClassVar[str] = "audio"

    def __post_init__(self) -> None:
        super().__post_init__()
        # The type is unknown only for a media id sent without one; WhatsApp fixed it at upload.
        if flag("voice", self.voice) and self.mime_type not in (None, OGG_OPUS):
            raise InvalidMessage("voice", f"voice notes must be {OGG_OPUS}")

    def _extras(self) -> dict[str, Any]:
        return {"voice": True} if self.voice else {}


@dataclass(frozen=True, kw_only=True)
class Sticker(_Media):
    kind: ClassVar[str] = "sticker"


Media = Image | Audio | Video | Document | Sticker

MEDIA_TYPES: Mapping[str, type[Media]] = MappingProxyType(
    {cls.kind: cls for cls in (Image, Audio, Video, Document, Sticker)}
)

# JSON key -> field name, per request shape. The Cloud API shape carries no MIME type.
WEBEX_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "url": "link",
        "id": "id",
        "mimeType": "mime_type",
        "caption": "caption",
        "filename": "filename",
        "voice": "voice",
    }
)
NATIVE_KEYS: Mapping[str, str] = MappingProxyType(
    {"link": "link", "id": "id", "caption": "caption", "filename": "filename", "voice": "voice"}
)

_ONLY_FOR = {
    "caption": "only image, video and document messages take a caption",
    "filename": "only document messages take a filename",
    "voice": "only audio messages can be voice notes",
}


def parse_media(kind: str, value: Any, keys: Mapping[str, str]) -> Media:
    """Parse a media object of `kind` whose JSON keys map to fields through `keys`."""
    cls = MEDIA_TYPES[kind]
    own = {f.name for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, item in obj(value, keys).items():
        if keys[key] not in own:
            raise InvalidMessage(key, _ONLY_FOR[keys[key]])
        kwargs[keys[key]] = item
    with renamed({name: key for key, name in keys.items()}):
        return cls(**kwargs)
