"""The sandbox's HTTP surface: the Graph-style send, media, template and QR-code endpoints, plus
the control panel (numbers, handsets and their actions, templates).

Routes are relative, so the app works mounted anywhere (wanode mounts it under `/sandbox`).
The control-panel, download and image routes come before `/{version}/{object_id}`, which would
otherwise swallow every two-segment GET. The control panel is unauthenticated: it is the test
bench's, not part of the platform being imitated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wanode.sandbox import params
from wanode.sandbox.actions import Answer
from wanode.sandbox.entry_routes import IMAGE_ROUTE, EntryRoutes
from wanode.sandbox.errors import MetaError, SandboxError
from wanode.sandbox.faults import AFTER_ACCEPT, reset
from wanode.sandbox.graph_routes import GraphRoutes
from wanode.sandbox.media import upload_type
from wanode.sandbox.numbers import BusinessNumber
from wanode.sandbox.samples import SAMPLES, sample
from wanode.sandbox.template_routes import TemplateRoutes
from wanode.sandbox.validation import ReadReceipt, parse_request

if TYPE_CHECKING:
    from wanode.sandbox.sandbox import Sandbox

Endpoint = Callable[[Request], Awaitable[Response]]
_EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# A send repeating an accepted one's key gets its answer again (see `idempotency`).
IDEMPOTENCY = "Idempotency-Key"

log = structlog.get_logger(__name__)


def build_app(sandbox: Sandbox) -> Starlette:
    routes = _Routes(sandbox)
    templates = routes.templates
    graph = routes.graph
    entries = EntryRoutes(sandbox)
    actions = sandbox.actions
    return Starlette(
        routes=[
            Route("/numbers", routes.list_numbers, methods=["GET"]),
            Route("/numbers", routes.provision, methods=["POST"]),
            Route("/log", routes.receive_log, methods=["GET"]),
            Route("/log/replays", routes.replays, methods=["GET"]),
            Route("/handsets/{wa_id}", routes.handset, methods=["GET"]),
            Route("/handsets/{wa_id}", routes.configure, methods=["PUT"]),
            Route("/handsets/{wa_id}/messages", routes.inbox, methods=["GET"]),
            Route("/handsets/{wa_id}/sent", routes.sent, methods=["GET"]),
            Route("/handsets/{wa_id}/identity", routes.rotate_identity, methods=["POST"]),
            Route("/handsets/{wa_id}/send", routes.send_text, methods=["POST"]),
            Route("/handsets/{wa_id}/send-media", _action(actions.send_media), methods=["POST"]),
            Route(
                "/handsets/{wa_id}/send-location", _action(actions.send_location), methods=["POST"]
            ),
            Route(
                "/handsets/{wa_id}/send-contacts", _action(actions.send_contacts), methods=["POST"]
            ),
            Route("/handsets/{wa_id}/react", _action(actions.react), methods=["POST"]),
            Route("/handsets/{wa_id}/tap-button", _action(actions.tap_button), methods=["POST"]),
            Route("/handsets/{wa_id}/pick-row", _action(actions.pick_row), methods=["POST"]),
            Route(
                "/handsets/{wa_id}/tap-quick-reply",
                _action(actions.tap_quick_reply),
                methods=["POST"],
            ),
            Route("/handsets/{wa_id}/open", _action(actions.open_link), methods=["POST"]),
            Route("/faults/slow-answers", routes.slow_answers, methods=["POST"]),
            Route("/faults", routes.faults, methods=["GET"]),
            Route("/faults", routes.configure_faults, methods=["PUT"]),
            Route("/templates", templates.panel_list, methods=["GET"]),
            Route("/templates/{template_id}/status", templates.panel_status, methods=["POST"]),
            Route("/attachments/{media_id}", routes.download, methods=["GET"], name="download"),
            Route("/qr/{code}.{image_format}", entries.image, methods=["GET"], name=IMAGE_ROUTE),
            Route("/samples/{name}", _sample, methods=["GET"]),
            Route("/{version}/{phone_number_id}/messages", routes.messages, methods=["POST"]),
            Route("/{version}/{phone_number_id}/media", routes.upload, methods=["POST"]),
            Route("/{version}/{phone_number_id}/message_qrdls", entries.create, methods=["POST"]),
            Route("/{version}/{phone_number_id}/message_qrdls", entries.list, methods=["GET"]),
            Route(
                "/{version}/{phone_number_id}/message_qrdls/{code}",
                entries.one,
                methods=["GET", "DELETE"],
            ),
            Route("/{version}/{waba_id}/message_templates", templates.create, methods=["POST"]),
            Route("/{version}/{waba_id}/message_templates", templates.list, methods=["GET"]),
            Route("/{version}/{waba_id}/message_templates", templates.delete, methods=["DELETE"]),
            *_number_routes(graph),
            Route("/{version}/{media_id}", routes.graph_object, methods=["GET", "DELETE"]),
            # Last: every other path and method answers a Graph error, never a bare 404/405.
            Route("/{path:path}", graph.unknown, methods=_EVERY_METHOD),
        ],
        exception_handlers={SandboxError: _sandbox_error, MetaError: _meta_error},
    )


def _number_routes(graph: GraphRoutes) -> list[Route]:
    """Graph's phone-number and WABA endpoints (see `graph_routes`)."""
    number = "/{version}/{phone_number_id}"
    return [
        Route(f"{number}/whatsapp_business_profile", graph.profile, methods=["GET"]),
        Route(f"{number}/whatsapp_business_profile", graph.update_profile, methods=["POST"]),
        Route(f"{number}/settings", graph.settings, methods=["GET"]),
        Route(f"{number}/settings", graph.update_settings, methods=["POST"]),
        Route(f"{number}/block_users", graph.blocked, methods=["GET"]),
        Route(f"{number}/block_users", graph.block, methods=["POST", "DELETE"]),
        Route(f"{number}/register", graph.register, methods=["POST"]),
        Route("/{version}/{waba_id}/phone_numbers", graph.waba_numbers, methods=["GET"]),
    ]


def _action(act: Callable[[str, dict[str, Any]], Answer]) -> Endpoint:
    """A control-panel endpoint for a handset action: `act(wa_id, body)` answers JSON."""

    async def endpoint(request: Request) -> Response:
        answer, status = act(params.wa_id(request), await params.panel_object(request))
        return JSONResponse(answer, status_code=status)

    return endpoint


class _Routes:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.templates = TemplateRoutes(sandbox)
        self.graph = GraphRoutes(sandbox)

    async def messages(self, request: Request) -> Response:
        """`POST /{version}/{phone-number-id}/messages`: send a message, or mark one read."""
        version = params.version(request)
        number = self._number(request)
        payload = await params.graph_json(request)
        parsed = parse_request(payload, self.sandbox.config)
        if isinstance(parsed, ReadReceipt):
            self.sandbox.mark_read(number, parsed.message_id)
            return JSONResponse({"success": True})
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
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": parsed.to, "wa_id": parsed.wa_id}],
                "messages": [{"id": wamid}],
            }
        )

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

    async def list_numbers(self, request: Request) -> Response:
        return JSONResponse([number.public() for number in self.sandbox.numbers()])

    async def provision(self, request: Request) -> Response:
        try:
            number = BusinessNumber.from_json(await params.panel_json(request))
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from exc
        self.sandbox.provision(number)
        return JSONResponse(number.public(), status_code=201)

    async def receive_log(self, request: Request) -> Response:
        """Every accepted send, oldest first (`?phone_number_id=` for one number's)."""
        entries = self.sandbox.receive_log.entries(request.query_params.get("phone_number_id"))
        return JSONResponse([entry.as_json() for entry in entries])

    async def replays(self, request: Request) -> Response:
        """Every send answered again for a repeated idempotency key, oldest first."""
        replays = self.sandbox.receive_log.replays(request.query_params.get("phone_number_id"))
        return JSONResponse([replay.as_json() for replay in replays])

    async def handset(self, request: Request) -> Response:
        wa_id = params.wa_id(request)
        handset = self.sandbox.handsets.get(wa_id)
        if handset is None:
            raise SandboxError(404, f"no handset {wa_id} yet; PUT its config or message it")
        return JSONResponse(handset.as_json())

    async def configure(self, request: Request) -> Response:
        changes = await params.panel_json(request)
        if not isinstance(changes, dict):
            raise SandboxError(400, "body must be a JSON object of handset settings")
        handset = self.sandbox.configure(params.wa_id(request), changes)
        return JSONResponse(handset.as_json())

    async def inbox(self, request: Request) -> Response:
        handset = self.sandbox.handsets.get(params.wa_id(request))
        entries = handset.received() if handset is not None else []
        return JSONResponse([entry.as_json() for entry in entries])

    async def sent(self, request: Request) -> Response:
        handset = self.sandbox.handsets.get(params.wa_id(request))
        entries = handset.sent if handset is not None else []
        return JSONResponse([entry.as_json() for entry in entries])

    async def slow_answers(self, request: Request) -> Response:
        """`{"count", "delay"}`: answer the next `count` accepted sends `delay` s late."""
        body = await params.panel_object(request)
        unknown = sorted(set(body) - {"count", "delay"})
        if unknown:
            raise SandboxError(400, f"unknown field {unknown[0]!r}")
        count, delay = body.get("count", 1), body.get("delay")
        if isinstance(count, bool) or not isinstance(count, int):
            raise SandboxError(400, "count must be a whole number")
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise SandboxError(400, "delay is required and must be a number of seconds")
        try:
            self.sandbox.faults.slow_answers(count, float(delay))
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from exc
        return JSONResponse({"slow_answers": self.sandbox.faults.pending(), "delay": delay})

    async def faults(self, request: Request) -> Response:
        """The injected faults' settings and how many of each were injected."""
        return JSONResponse(self.sandbox.faults.as_json())

    async def configure_faults(self, request: Request) -> Response:
        """`{"rate", "kinds"?, "seed"?, "hang"?}`: inject a fault into each send with
        probability `rate` (0 stops); `kinds` is a list of fault names or an object of weights."""
        body = await params.panel_object(request)
        unknown = sorted(set(body) - {"rate", "kinds", "seed", "hang"})
        if unknown:
            raise SandboxError(400, f"unknown field {unknown[0]!r}")
        if "rate" not in body:
            raise SandboxError(400, "rate is required: a number between 0 and 1")
        kinds = body.get("kinds")
        if isinstance(kinds, list):
            if not all(isinstance(kind, str) for kind in kinds):
                raise SandboxError(400, "kinds: a list of fault names")
            kinds = ",".join(kinds)
        faults = self.sandbox.faults
        try:
            faults.configure(body["rate"], kinds, body.get("seed"), body.get("hang", faults.hang))
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from exc
        return JSONResponse(faults.as_json())

    async def rotate_identity(self, request: Request) -> Response:
        identity_key_hash = self.sandbox.rotate_identity(params.wa_id(request))
        return JSONResponse({"identity_key_hash": identity_key_hash})

    async def send_text(self, request: Request) -> Response:
        """The handset sends `{"phone_number_id", "text", "reply_to"?}` to the business."""
        body = await params.panel_object(request)
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
        wamid = self.sandbox.send_text(
            params.wa_id(request), phone_number_id, text, reply_to=reply_to
        )
        return JSONResponse({"id": wamid}, status_code=201)


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


async def _meta_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MetaError)
    log.info("sandbox.graph.rejected", path=request.url.path, code=exc.code)
    headers = {}
    if exc.http_status == 401:
        # Graph names the failed scheme the way RFC 6750 asks of bearer-token APIs.
        headers["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token"'
    return JSONResponse(exc.body(), status_code=exc.http_status, headers=headers)


async def _sandbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    return JSONResponse(exc.body(), status_code=exc.http_status)


async def _sample(request: Request) -> Response:
    """Sample media of every kind, so media messages can be tried offline (see `samples`)."""
    found = sample(request.path_params["name"])
    if found is None:
        names = ", ".join(sorted(SAMPLES))
        raise SandboxError(404, f"no sample {request.path_params['name']!r}; there are {names}")
    mime_type, data = found
    return Response(data, media_type=mime_type)
