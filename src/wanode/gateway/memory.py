"""A recording fake gateway for unit tests: accepts everything unless told otherwise."""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from wanode.gateway.base import (
    Accepted,
    Credentials,
    GatewayError,
    MediaRejected,
    MediaTooLarge,
    Rejected,
    RequestRejected,
    SendResult,
    TemplateRejected,
)


@dataclass
class Sent:
    creds: Credentials
    payload: dict[str, Any]
    result: SendResult
    idempotency_key: str | None = None


@dataclass
class Read:
    creds: Credentials
    message_id: str
    typing_indicator: bool
    result: Rejected | None


@dataclass
class Upload:
    creds: Credentials
    data: bytes
    mime_type: str
    filename: str
    result: str | Rejected  # the media id, or why WhatsApp refused the file


@dataclass
class MemoryGateway:
    """Records every call. Queue `Rejected` or `GatewayError` values in `script` to fail the
    next calls, whichever method they are (a queued `Rejected` fails an upload as
    `MediaRejected`)."""

    sent: list[Sent] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    script: deque[Rejected | GatewayError] = field(default_factory=deque)
    # Media users sent (see `add_file`), the media ids downloaded, and the QR codes by code.
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    qr_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The WABA's templates as Graph objects, by id. Template calls fail from `template_script`,
    # not `script`: a background template sync must not take a send's scripted failure.
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    template_script: deque[Rejected | GatewayError] = field(default_factory=deque)
    template_calls: list[tuple[str, Any]] = field(default_factory=list)
    # Two gateways in one test (two "processes" on one database) need distinct wamids.
    wamid_prefix: str = "MEMORY"
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(
        self, creds: Credentials, payload: dict[str, Any], *, idempotency_key: str | None = None
    ) -> SendResult:
        result: SendResult | None = self._scripted()
        if result is None:
            to = "".join(ch for ch in str(payload.get("to", "")) if ch.isdigit())
            result = Accepted(wamid=f"wamid.{self.wamid_prefix}{next(self._ids):012d}", wa_id=to)
        self.sent.append(Sent(creds, payload, result, idempotency_key))
        return result

    async def mark_read(
        self, creds: Credentials, message_id: str, *, typing_indicator: bool = False
    ) -> Rejected | None:
        result = self._scripted()
        self.reads.append(Read(creds, message_id, typing_indicator, result))
        return result

    async def upload_media(
        self, creds: Credentials, data: bytes, mime_type: str, filename: str
    ) -> str:
        rejected = self._scripted()
        if rejected is not None:
            self.uploads.append(Upload(creds, data, mime_type, filename, rejected))
            raise MediaRejected(rejected)
        media_id = f"{next(self._ids):016d}"
        self.uploads.append(Upload(creds, data, mime_type, filename, media_id))
        return media_id

    def add_file(self, data: bytes, mime_type: str) -> str:
        """Hold media as if a user had sent it; returns its media id."""
        media_id = f"{next(self._ids):016d}"
        self.files[media_id] = (data, mime_type)
        return media_id

    async def media_info(self, creds: Credentials, media_id: str) -> dict[str, Any]:
        rejected = self._scripted()
        if rejected is None and media_id not in self.files:
            rejected = Rejected(100, "Invalid parameter", f"no media {media_id}", 400, False)
        if rejected is not None:
            raise MediaRejected(rejected)
        data, mime_type = self.files[media_id]
        return {
            "messaging_product": "whatsapp",
            "url": _MEDIA_URL + media_id,
            "mime_type": mime_type,
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": str(len(data)),
            "id": media_id,
        }

    async def download_media(self, creds: Credentials, url: str, *, max_bytes: int) -> bytes:
        rejected = self._scripted()
        media_id = url.removeprefix(_MEDIA_URL)
        if rejected is None and media_id not in self.files:
            rejected = Rejected(
                1, "API Unknown", "HTTP 404 without a Graph error object", 404, False
            )
        if rejected is not None:
            raise MediaRejected(rejected)
        data = self.files[media_id][0]
        if len(data) > max_bytes:
            raise MediaTooLarge(max_bytes, len(data))
        self.downloads.append(media_id)
        return data

    async def create_qr(
        self, creds: Credentials, prefilled_message: str, image_format: str | None = None
    ) -> dict[str, Any]:
        rejected = self._scripted()
        if rejected is not None:
            raise RequestRejected(rejected)
        code = f"MEMORY{next(self._ids):08d}"
        created: dict[str, Any] = {
            "code": code,
            "prefilled_message": prefilled_message,
            "deep_link_url": f"https://wa.me/message/{code}",
        }
        if image_format is not None:
            created["qr_image_url"] = f"memory://qr/{code}.{image_format.lower()}"
        self.qr_codes[code] = created
        return dict(created)

    async def delete_qr(self, creds: Credentials, code: str) -> None:
        rejected = self._scripted()
        if rejected is None and code not in self.qr_codes:
            rejected = Rejected(803, "Not found", f"QR code {code!r} not found", 404, False)
        if rejected is not None:
            raise RequestRejected(rejected)
        del self.qr_codes[code]

    async def list_templates(self, creds: Credentials) -> list[dict[str, Any]]:
        self._template_call("list", None)
        return [dict(template) for template in self.templates.values()]

    async def get_template(self, creds: Credentials, template_id: str) -> dict[str, Any]:
        self._template_call("get", template_id)
        if template_id not in self.templates:
            raise TemplateRejected(
                Rejected(100, "Invalid parameter", f"no template {template_id}", 400, False)
            )
        return dict(self.templates[template_id])

    async def create_template(self, creds: Credentials, body: dict[str, Any]) -> dict[str, Any]:
        self._template_call("create", body)
        template_id = f"{10**15 + next(self._ids)}"
        self.templates[template_id] = {**body, "id": template_id, "status": "PENDING"}
        return {"id": template_id, "status": "PENDING", "category": body.get("category")}

    async def delete_template(
        self, creds: Credentials, name: str, *, template_id: str | None = None
    ) -> None:
        self._template_call("delete", (name, template_id))
        doomed = [
            tid
            for tid, template in self.templates.items()
            if template.get("name") == name and template_id in (None, tid)
        ]
        if not doomed:
            raise TemplateRejected(
                Rejected(100, "Invalid parameter", f"no template named {name!r}", 400, False)
            )
        for tid in doomed:
            del self.templates[tid]

    async def aclose(self) -> None:
        return None

    def _template_call(self, call: str, argument: Any) -> None:
        """Record a template call; fail it with the next `template_script` entry, if any."""
        self.template_calls.append((call, argument))
        if not self.template_script:
            return
        outcome = self.template_script.popleft()
        if isinstance(outcome, GatewayError):
            raise outcome
        raise TemplateRejected(outcome)

    def _scripted(self) -> Rejected | None:
        """The next scripted refusal, if any; a scripted `GatewayError` is raised here."""
        if not self.script:
            return None
        outcome = self.script.popleft()
        if isinstance(outcome, GatewayError):
            raise outcome
        return outcome


_MEDIA_URL = "memory://media/"
