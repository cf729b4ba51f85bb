"""QR codes and short links of a business number: `/{phone-number-id}/message_qrdls`
(cloud-api.md §10), and the images their `qr_image_url` points at.

- A code is 14 characters of `[A-Z0-9]` (EMULATOR CHOICE, §10: the spec's own examples break
  its regex). Its deep link is `https://wa.me/message/<code>`; a handset opening it sends the
  prefilled message to the number (see `actions`).
- `prefilled_message` is required, at most 140 characters. A create body with `code` updates
  that code's message. `generate_qr_image` (PNG or SVG) adds `qr_image_url` to the answer; a
  GET adds it when `fields` asks for `qr_image_url.format(SVG|PNG)`. The image is a real QR
  code of the deep link, served by the sandbox without a token, as Meta's CDN serves it.
- Lists are newest first, 25 a page at most, with base64 cursors.
- A number holds at most 2,000 codes (§9); creating one more answers 100 (EMULATOR CHOICE:
  the reference names no code). An unknown code answers 404 with code 803 (GraphMethodException),
  as the spec's examples do.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from typing import Any

import segno

from wanode.sandbox.rules.errors import MetaError, as_invalid_parameter
from wanode.sandbox.rules.fields import choice, obj, string

DEEP_LINK = "https://wa.me/message/"
MAX_PREFILLED = 140
MAX_CODES = 2000
MAX_PAGE = 25
IMAGE_FORMATS = ("PNG", "SVG")
FIELDS = ("code", "prefilled_message", "deep_link_url", "qr_image_url", "creation_time")
_CODE = re.compile(r"[A-Z0-9]{14}")
_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_IMAGE_FIELD = re.compile(r"qr_image_url\.format\((SVG|PNG)\)", re.IGNORECASE)
_MEDIA_TYPES = {"PNG": "image/png", "SVG": "image/svg+xml"}


@dataclass
class QrCode:
    code: str
    phone_number_id: str
    prefilled_message: str

    @property
    def deep_link_url(self) -> str:
        return DEEP_LINK + self.code

    def graph(self, image_url: str | None) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "code": self.code,
            "prefilled_message": self.prefilled_message,
            "deep_link_url": self.deep_link_url,
        }
        if image_url is not None:
            shown["qr_image_url"] = image_url
        return shown

    def image(self, image_format: str) -> tuple[bytes, str]:
        """The QR code of the deep link, as PNG or SVG bytes, and its media type."""
        buffer = io.BytesIO()
        segno.make(self.deep_link_url, error="m").save(
            buffer, kind=image_format.lower(), scale=8, border=4
        )
        return buffer.getvalue(), _MEDIA_TYPES[image_format]


class QrCodes:
    def __init__(self) -> None:
        self._by_code: dict[str, QrCode] = {}

    def get(self, code: str) -> QrCode | None:
        return self._by_code.get(code)

    def all(self) -> list[QrCode]:
        return list(self._by_code.values())

    def restore(self, qr: QrCode) -> None:
        self._by_code[qr.code] = qr

    def of(self, phone_number_id: str) -> list[QrCode]:
        """A number's codes, newest first."""
        mine = [q for q in self._by_code.values() if q.phone_number_id == phone_number_id]
        return mine[::-1]

    def owned(self, phone_number_id: str, code: str) -> QrCode:
        if not _CODE.fullmatch(code):
            raise MetaError(
                100, f"code: {code!r} is not a QR code id (14 upper-case letters and digits)"
            )
        found = self._by_code.get(code)
        if found is None or found.phone_number_id != phone_number_id:
            raise MetaError(803, f"QR code {code!r} not found", error_type="GraphMethodException")
        return found

    def create_or_update(self, phone_number_id: str, body: Any) -> tuple[QrCode, str | None]:
        """Apply a create (or, with `code`, update) request; returns the code and image format."""
        with as_invalid_parameter():
            request = obj(
                body,
                "",
                ("prefilled_message", "generate_qr_image", "code"),
                required=("prefilled_message",),
            )
            message = string(request["prefilled_message"], "prefilled_message")
            if len(message) > MAX_PREFILLED:
                raise MetaError(
                    100,
                    f"prefilled_message: Invalid prefilled_message length. Maximum "
                    f"{MAX_PREFILLED} characters allowed (got {len(message)})",
                )
            image_format = None
            if "generate_qr_image" in request:
                image_format = choice(
                    request["generate_qr_image"], "generate_qr_image", IMAGE_FORMATS
                )
            code = request.get("code")
            if code is not None and not isinstance(code, str):
                raise MetaError(100, "code: must be a string")
        if code is not None:
            found = self.owned(phone_number_id, code)
            found.prefilled_message = message
            return found, image_format
        if len(self.of(phone_number_id)) >= MAX_CODES:
            raise MetaError(
                100, f"this phone number already has the maximum of {MAX_CODES} QR codes"
            )
        created = QrCode(_new_code(), phone_number_id, message)
        self._by_code[created.code] = created
        return created, image_format

    def delete(self, phone_number_id: str, code: str) -> None:
        del self._by_code[self.owned(phone_number_id, code).code]


def image_format_of(fields: str | None) -> str | None:
    """The image format a `fields` query asks for, checking that it names known fields only."""
    if fields is None:
        return None
    wanted = None
    for name in (part.strip() for part in fields.split(",") if part.strip()):
        match = _IMAGE_FIELD.fullmatch(name)
        if match:
            wanted = match[1].upper()
        elif name not in FIELDS:
            raise MetaError(100, f"fields: {name!r} is not a field of a QR code")
    return wanted


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(14))
