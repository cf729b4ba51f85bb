"""Media uploaded to the sandbox (and media handsets sent), kept in memory per number.

Download URLs do not expire; they need the owning number's bearer token, as Meta's do.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from wanode.sandbox.rules.media import KIND_OF_TYPE, check_size


@dataclass(frozen=True)
class StoredMedia:
    media_id: str
    phone_number_id: str
    mime_type: str
    filename: str
    data: bytes

    @property
    def kind(self) -> str:
        return KIND_OF_TYPE[self.mime_type]

    def metadata(self, url: str) -> dict[str, Any]:
        """The answer to `GET /{media-id}` (file_size is a string there, like every Graph id)."""
        return {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": self.mime_type,
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "file_size": str(len(self.data)),
            "id": self.media_id,
        }


class MediaStore:
    """Media uploaded to the sandbox, each owned by the number it was uploaded for."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredMedia] = {}

    def add(self, phone_number_id: str, data: bytes, mime_type: str, filename: str) -> StoredMedia:
        """Keep an upload whose type `upload_type` returned; refuses it if it is too large."""
        check_size(data, mime_type)
        media = StoredMedia(_new_media_id(), phone_number_id, mime_type, filename, data)
        self._by_id[media.media_id] = media
        return media

    def get(self, media_id: str) -> StoredMedia | None:
        return self._by_id.get(media_id)

    def ids(self) -> set[str]:
        return set(self._by_id)

    def restore(self, media: StoredMedia) -> None:
        self._by_id[media.media_id] = media

    def delete(self, media_id: str) -> None:
        self._by_id.pop(media_id, None)


def _new_media_id() -> str:
    # Graph ids are decimal strings of 15-16 digits.
    return str(10**15 + secrets.randbelow(9 * 10**15))
