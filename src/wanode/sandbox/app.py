"""The sandbox's HTTP surface: the Graph-style send endpoint plus the handset and number API.

Routes are relative, so the app works mounted anywhere (wanode mounts it under `/sandbox`).
The handset and number routes come before `/{version}/...` so that pattern cannot swallow them.
The handset and number API is unauthenticated: it is the test bench's control panel, not part
of the platform being imitated.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wanode.sandbox.errors import MetaError, SandboxError
from wanode.sandbox.numbers import BusinessNumber
from wanode.sandbox.payloads import parse_version
from wanode.sandbox.validation import ReadReceipt, normalise_wa_id, parse_request

if TYPE_CHECKING:
    from wanode.sandbox.sandbox import Sandbox

log = structlog.get_logger(__name__)


def build_app(sandbox: Sandbox) -> Starlette:
    routes = _Routes(sandbox)
    return Starlette(
        routes=[
            Route("/numbers", routes.list_numbers, methods=["GET"]),
            Route("/numbers", routes.provision, methods=["POST"]),
            Route("/handsets/{wa_id}", routes.handset, methods=["GET"]),
            Route("/handsets/{wa_id}", routes.configure, methods=["PUT"]),
            Route("/handsets/{wa_id}/messages", routes.inbox, methods=["GET"]),
            Route("/handsets/{wa_id}/sent", routes.sent, methods=["GET"]),
            Route("/handsets/{wa_id}/identity", routes.rotate_identity, methods=["POST"]),
            Route("/handsets/{wa_id}/send", routes.send_text, methods=["POST"]),
            Route("/{version}/{phone_number_id}/messages", routes.messages, methods=["POST"]),
        ],
        exception_handlers={SandboxError: _sandbox_error},
    )


class _Routes:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def messages(self, request: Request) -> Response:
        """`POST /{version}/{phone-number-id}/messages`: send a message, or mark one read."""
        phone_number_id = request.path_params["phone_number_id"]
        version = request.path_params["version"]
        try:
            if parse_version(version) is None:
                raise MetaError(100, f"{version!r} is not an API version (expected like v23.0)")
            number = self.sandbox.authorise(phone_number_id, request.headers.get("authorization"))
            try:
                payload = json.loads(await request.body())
            except ValueError as exc:
                raise MetaError(100, "the request body is not valid JSON") from exc
            parsed = parse_request(payload)
            if isinstance(parsed, ReadReceipt):
                self.sandbox.mark_read(number, parsed.message_id)
                return JSONResponse({"success": True})
            wamid = self.sandbox.accept(number, version, parsed, payload)
        except MetaError as exc:
            log.info("sandbox.message.rejected", phone_number_id=phone_number_id, code=exc.code)
            return _meta_error(exc)
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": parsed.to, "wa_id": parsed.wa_id}],
                "messages": [{"id": wamid}],
            }
        )

    async def list_numbers(self, request: Request) -> Response:
        return JSONResponse([number.public() for number in self.sandbox.numbers()])

    async def provision(self, request: Request) -> Response:
        try:
            number = BusinessNumber.from_json(await _json(request))
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from exc
        self.sandbox.provision(number)
        return JSONResponse(number.public(), status_code=201)

    async def handset(self, request: Request) -> Response:
        wa_id = _wa_id(request)
        handset = self.sandbox.handsets.get(wa_id)
        if handset is None:
            raise SandboxError(404, f"no handset {wa_id} yet; PUT its config or message it")
        return JSONResponse(handset.as_json())

    async def configure(self, request: Request) -> Response:
        changes = await _json(request)
        if not isinstance(changes, dict):
            raise SandboxError(400, "body must be a JSON object of handset settings")
        handset = self.sandbox.configure(_wa_id(request), changes)
        return JSONResponse(handset.as_json())

    async def inbox(self, request: Request) -> Response:
        handset = self.sandbox.handsets.get(_wa_id(request))
        entries = handset.received() if handset is not None else []
        return JSONResponse([entry.as_json() for entry in entries])

    async def sent(self, request: Request) -> Response:
        handset = self.sandbox.handsets.get(_wa_id(request))
        entries = handset.sent if handset is not None else []
        return JSONResponse([entry.as_json() for entry in entries])

    async def rotate_identity(self, request: Request) -> Response:
        identity_key_hash = self.sandbox.rotate_identity(_wa_id(request))
        return JSONResponse({"identity_key_hash": identity_key_hash})

    async def send_text(self, request: Request) -> Response:
        """The handset sends `{"phone_number_id", "text", "reply_to"?}` to the business."""
        body = await _json(request)
        if not isinstance(body, dict):
            raise SandboxError(400, "body must be a JSON object")
        unknown = sorted(set(body) - {"phone_number_id", "text", "reply_to"})
        if unknown:
            raise SandboxError(400, f"unknown field {unknown[0]!r}")
        phone_number_id, text = body.get("phone_number_id"), body.get("text")
        reply_to = body.get("reply_to")
        if not isinstance(phone_number_id, str) or not phone_number_id:
            raise SandboxError(400, "phone_number_id is required")
        if not isinstance(text, str) or not text.strip():
            raise SandboxError(400, "text is required and must be a non-empty string")
        if reply_to is not None and not isinstance(reply_to, str):
            raise SandboxError(400, "reply_to must be a wamid string")
        wamid = self.sandbox.send_text(_wa_id(request), phone_number_id, text, reply_to=reply_to)
        return JSONResponse({"id": wamid}, status_code=201)


def _wa_id(request: Request) -> str:
    try:
        return normalise_wa_id(request.path_params["wa_id"])
    except MetaError as exc:
        raise SandboxError(400, exc.details) from exc


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise SandboxError(400, "body is not valid JSON") from exc


def _meta_error(exc: MetaError) -> Response:
    headers = {}
    if exc.http_status == 401:
        # Graph names the failed scheme the way RFC 6750 asks of bearer-token APIs.
        headers["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token"'
    return JSONResponse(exc.body(), status_code=exc.http_status, headers=headers)


async def _sandbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    return JSONResponse(exc.body(), status_code=exc.http_status)
