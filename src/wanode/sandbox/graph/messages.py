"""Graph's message and media endpoints: send a message or mark one read (with the injected
faults, `wanode.sandbox.faults`), upload media, read or delete it by id, and download it; a
`GET /{version}/{id}` of a template or a phone number is passed to their routes."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

import structlog
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wanode.sandbox.faults import AFTER_ACCEPT, reset
from wanode.sandbox.graph.numbers import GraphRoutes
from wanode.sandbox.graph.templates import TemplateRoutes
from wanode.sandbox.http import params
from wanode.sandbox.rules.bsuid import wa_id_of
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.media import upload_type
from wanode.sandbox.rules.validation import ReadReceipt, SendRequest, parse_request
from wanode.sandbox.state.numbers import BusinessNumber

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

# A send repeating an accepted one's key gets its answer again (see `idempotency`).
IDEMPOTENCY = "Idempotency-Key"
# The answer to a read receipt.
READ: dict[str, Any] = {"success": True}

log = structlog.get_logger(__name__)


class MessageRoutes:
    def __init__(self, sandbox: Platform, templates: TemplateRoutes, graph: GraphRoutes) -> None:
        self.sandbox = sandbox
        self.templates = templates
        self.graph = graph

    async def messages(self, request: Request) -> Response:
        """`POST /{version}/{phone-number-id}/messages`: send a message, or mark one read.

        Without faults to inject, `wanode.sandbox.graph.front` serves this path itself."""
        version = params.version(request)
        number = self._number(request)
        payload = await params.graph_json(request)
        parsed = self._parsed(number, payload)
        if parsed is None:
            return JSONResponse(READ)
        fault = self.sandbox.faults.draw()
        if fault is not None and fault not in AFTER_ACCEPT:
            return await self._fault(request, fault)
        wamid = self.sandbox.accept(
            number, version, parsed, payload, idempotency_key=request.headers.get(IDEMPOTENCY)
        )
        if fault == "timeout_after":
            # Answered, long after the client stopped waiting (one without a timeout, over
            # an ASGI transport, gets its answer late).
            log.info("sandbox.fault", fault=fault, path=request.url.path)
            await asyncio.sleep(self.sandbox.faults.hang)
        elif fault is not None:
            return await self._fault(request, fault)
        await self.sandbox.faults.after_accept()
        return JSONResponse(sent(parsed, wamid))

    def send(
        self, version: str, number: BusinessNumber, payload: Any, idempotency_key: str | None
    ) -> dict[str, Any]:
        """A send (or read receipt) when no fault is to be injected: the answer's JSON."""
        parsed = self._parsed(number, payload)
        if parsed is None:
            return READ
        wamid = self.sandbox.accept(
            number, version, parsed, payload, idempotency_key=idempotency_key
        )
        return sent(parsed, wamid)

    def _parsed(self, number: BusinessNumber, payload: Any) -> SendRequest | None:
        """The send `payload` asks for; None for a read receipt, which is done at once."""
        parsed = parse_request(payload, self.sandbox.config)
        if isinstance(parsed, ReadReceipt):
            self.sandbox.mark_read(number, parsed.message_id)
            return None
        if parsed.recipient is not None:
            parsed = _resolved(parsed, number)
        return parsed

    async def _fault(self, request: Request, fault: str) -> Response:
        """Answer a send as the injected `fault` says (see `wanode.sandbox.faults`)."""
        faults = self.sandbox.faults
        log.info("sandbox.fault", fault=fault, path=request.url.path)
        if fault == "timeout_before":
            await asyncio.sleep(faults.hang)
            raise MetaError(2, "the request timed out before the message was accepted")
        if fault in ("reset_before", "reset_after"):
            if await reset(request.receive):
                return Response(status_code=200)  # written nowhere: the connection is gone
            return Response(status_code=500)
        if fault == "rate_limit":
            raise MetaError(
                130429, "the phone number's messages-per-second throughput was exceeded"
            )
        if fault == "unavailable":
            raise MetaError(2, "temporary downtime or overload; retry later")
        raise MetaError(131000, "an unknown error occurred while sending the message")

    async def upload(self, request: Request) -> Response:
        """`POST /{version}/{phone-number-id}/media`: a multipart upload; answers its media id."""
        params.version(request)
        number = self._number(request)
        data, mime_type, filename = await _upload_form(request)
        media = self.sandbox.upload(number, data, mime_type, filename)
        return JSONResponse({"id": media.media_id})

    async def graph_object(self, request: Request) -> Response:
        """`GET /{version}/{id}` of a template or of media; `DELETE` of media."""
        params.version(request)
        template = self.sandbox.templates.get(request.path_params["media_id"])
        if template is not None:
            return self.templates.one(request, template)
        number = self.sandbox.find_number(request.path_params["media_id"])
        if number is not None:
            return self.graph.phone_number(request, number)
        return self._media(request)

    def _media(self, request: Request) -> Response:
        """`GET /{version}/{media-id}` (metadata and download URL) and `DELETE` of the same."""
        media = self.sandbox.uploaded(
            request.path_params["media_id"],
            request.headers.get("authorization"),
            request.query_params.get("phone_number_id"),
        )
        if request.method == "DELETE":
            self.sandbox.media.delete(media.media_id)
            return JSONResponse({"success": True})
        url = str(request.url_for("download", media_id=media.media_id))
        return JSONResponse(media.metadata(url))

    async def download(self, request: Request) -> Response:
        """The URL `GET /{media-id}` hands out: the bytes, for the owning number's token."""
        try:
            media = self.sandbox.uploaded(
                request.path_params["media_id"], request.headers.get("authorization")
            )
        except MetaError as exc:
            if exc.code != 100:
                raise
            # Meta's media host answers a gone or foreign media URL with a bare 404.
            return Response(status_code=404)
        return Response(media.data, media_type=media.mime_type)

    def _number(self, request: Request) -> BusinessNumber:
        return self.sandbox.authorise(
            request.path_params["phone_number_id"], request.headers.get("authorization")
        )


def _resolved(parsed: SendRequest, number: BusinessNumber) -> SendRequest:
    """A send by BSUID, with the number it names for the business; Meta refuses one that is no
    user's BSUID for this business (another business's, or made up) as an invalid parameter."""
    assert parsed.recipient is not None
    wa_id = wa_id_of(parsed.recipient, number.waba_id)
    if wa_id is None:
        raise MetaError(
            100,
            f"recipient: {parsed.recipient!r} is not the business-scoped user id of a WhatsApp "
            "user of this business",
        )
    return dataclasses.replace(parsed, wa_id=wa_id)


def sent(parsed: SendRequest, wamid: str) -> dict[str, Any]:
    """The answer to an accepted send."""
    return {
        "messaging_product": "whatsapp",
        "contacts": [_contact(parsed)],
        "messages": [{"id": wamid}],
    }


def _contact(parsed: SendRequest) -> dict[str, str]:
    """The answer's `contacts` item; a send by BSUID names the BSUID too (`user_id`)."""
    contact = {"input": parsed.to, "wa_id": parsed.wa_id}
    if parsed.recipient is not None:
        contact["user_id"] = parsed.recipient
    return contact


async def _upload_form(request: Request) -> tuple[bytes, str, str]:
    """The file's bytes, MIME type and name from a media upload's multipart form."""
    try:
        async with request.form() as form:
            product = form.get("messaging_product")
            upload = form.get("file")
            declared = form.get("type")
            if product is None:
                raise MetaError(100, "messaging_product: the parameter is required")
            if product != "whatsapp":
                raise MetaError(100, f"messaging_product: {product!r} is not 'whatsapp'")
            if not isinstance(upload, UploadFile):
                raise MetaError(100, "file: the parameter is required and must be a file")
            if declared is not None and not isinstance(declared, str):
                raise MetaError(100, "type: must be a MIME type, not a file")
            mime_type = upload_type(upload.content_type, declared)
            return await upload.read(), mime_type, upload.filename or ""
    except (HTTPException, MultiPartException) as exc:
        raise MetaError(100, "the request body is not a valid multipart form") from exc
