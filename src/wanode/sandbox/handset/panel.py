"""The control panel's endpoints (the test bench's, not the platform's, so unauthenticated):
numbers, the receive log, handsets and their settings and inboxes, a handset's text, the
injected faults, templates' statuses, and the sample media."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wanode.sandbox.http import params
from wanode.sandbox.http.answers import json_answer
from wanode.sandbox.rules.errors import SandboxError
from wanode.sandbox.samples import SAMPLES, sample
from wanode.sandbox.state.numbers import BusinessNumber

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform


class PanelRoutes:
    def __init__(self, sandbox: Platform) -> None:
        self.sandbox = sandbox

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
        return json_answer(
            [entry.as_json() for entry in entries], floats=(e.received_at for e in entries)
        )

    async def replays(self, request: Request) -> Response:
        """Every send answered again for a repeated idempotency key, oldest first."""
        replays = self.sandbox.receive_log.replays(request.query_params.get("phone_number_id"))
        return json_answer(
            [replay.as_json() for replay in replays], floats=(r.replayed_at for r in replays)
        )

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

    async def panel_list(self, request: Request) -> Response:
        """`GET /templates`: every template of every WABA."""
        return JSONResponse([template.panel() for template in self.sandbox.templates.all()])

    async def panel_status(self, request: Request) -> Response:
        """`POST /templates/{template_id}/status {"status", "reason"?}`."""
        template = self.sandbox.set_template_status(
            request.path_params["template_id"], await params.panel_json(request)
        )
        return JSONResponse(template.panel())


async def sample_media(request: Request) -> Response:
    """Sample media of every kind, so media messages can be tried offline (see `samples`)."""
    found = sample(request.path_params["name"])
    if found is None:
        names = ", ".join(sorted(SAMPLES))
        raise SandboxError(404, f"no sample {request.path_params['name']!r}; there are {names}")
    mime_type, data = found
    return Response(data, media_type=mime_type)
