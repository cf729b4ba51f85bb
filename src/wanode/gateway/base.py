"""The gateway port: how the engine hands Cloud API payloads and media to WhatsApp.

Outcomes WhatsApp decides are values (`Accepted`, `Rejected`), except where a call answers
something else: `upload_media` answers a media id, so its refusal is raised as
`MediaRejected`; the template calls answer Graph objects, so theirs is `TemplateRejected`.
Each carries the same `Rejected` a refused send returns. Failing to reach WhatsApp at all is
always `GatewayError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Credentials:
    """What a gateway needs to act for one business phone number."""

    phone_number_id: str
    access_token: str
    waba_id: str = ""


@dataclass(frozen=True)
class Accepted:
    wamid: str
    wa_id: str


@dataclass(frozen=True)
class Rejected:
    """WhatsApp answered with an error object (cloud-api.md §1.5)."""

    code: int
    title: str
    details: str
    http_status: int
    retryable: bool


class GatewayError(Exception):
    """The gateway could not be reached or answered nonsense; always retryable.

    `ambiguous` is true when the request may have reached WhatsApp (a timeout after sending),
    so a retry could deliver the message twice.
    """

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class MediaRejected(Exception):
    """WhatsApp refused a media upload (wrong type, too large, bad token...)."""

    def __init__(self, rejected: Rejected) -> None:
        super().__init__(f"media upload rejected ({rejected.code}): {rejected.details}")
        self.rejected = rejected


class MediaTooLarge(Exception):
    """A media download went over its size cap; nothing of it is kept."""

    def __init__(self, max_bytes: int, size: int | None = None) -> None:
        seen = f"{size} bytes" if size is not None else "more"
        super().__init__(f"media larger than the {max_bytes}-byte cap ({seen})")
        self.max_bytes = max_bytes
        self.size = size


class RequestRejected(Exception):
    """WhatsApp refused a request whose answer is a value (a QR code, a deletion)."""

    def __init__(self, rejected: Rejected) -> None:
        super().__init__(f"request rejected ({rejected.code}): {rejected.details}")
        self.rejected = rejected


class TemplateRejected(RequestRejected):
    """WhatsApp refused a template call: a create Meta's rules refuse, an unknown template id,
    a disabled template's deletion..."""


SendResult = Accepted | Rejected


class Gateway(Protocol):
    async def send(
        self, creds: Credentials, payload: dict[str, Any], *, idempotency_key: str | None = None
    ) -> SendResult:
        """Send one message. `idempotency_key` names it across attempts: the gateway passes it
        on (`Idempotency-Key`), and a peer that honours it answers a repeated key with the
        first answer instead of sending again (the sandbox does; the Cloud API ignores it)."""
        ...

    async def mark_read(
        self, creds: Credentials, message_id: str, *, typing_indicator: bool = False
    ) -> Rejected | None:
        """Mark inbound `message_id` (and the thread before it) read; None when WhatsApp agreed.

        With `typing_indicator` the user also sees "typing…" until the reply (or 25 s).
        """
        ...

    async def upload_media(
        self, creds: Credentials, data: bytes, mime_type: str, filename: str
    ) -> str:
        """Upload a file for `creds`' number; returns its media id, or raises `MediaRejected`."""
        ...

    async def media_info(self, creds: Credentials, media_id: str) -> dict[str, Any]:
        """`GET /{media-id}` of `creds`' number: `url`, `mime_type`, `sha256` (hex), `file_size`.

        Raises `MediaRejected` when WhatsApp refuses (unknown or expired id, bad token).
        """
        ...

    async def download_media(self, creds: Credentials, url: str, *, max_bytes: int) -> bytes:
        """The bytes at a `media_info` URL, fetched with the bearer token; raises `MediaTooLarge`
        as soon as more than `max_bytes` arrive, `MediaRejected` on a refusal."""
        ...

    async def create_qr(
        self, creds: Credentials, prefilled_message: str, image_format: str | None = None
    ) -> dict[str, Any]:
        """Create a short link and QR code (cloud-api.md §10): `code`, `prefilled_message`,
        `deep_link_url`, and `qr_image_url` when `image_format` (PNG or SVG) is given.

        Raises `RequestRejected`.
        """
        ...

    async def delete_qr(self, creds: Credentials, code: str) -> None:
        """Delete a short link for good; raises `RequestRejected` (803: no such code)."""
        ...

    async def list_templates(self, creds: Credentials) -> list[dict[str, Any]]:
        """Every template of `creds`' WABA as Graph objects, all pages followed."""
        ...

    async def get_template(self, creds: Credentials, template_id: str) -> dict[str, Any]:
        """One template as a Graph object."""
        ...

    async def create_template(self, creds: Credentials, body: dict[str, Any]) -> dict[str, Any]:
        """Submit a template for review; answers Meta's `{id, status, category}`."""
        ...

    async def delete_template(
        self, creds: Credentials, name: str, *, template_id: str | None = None
    ) -> None:
        """Delete every language of template `name`, or with `template_id` that one only."""
        ...

    async def aclose(self) -> None: ...
