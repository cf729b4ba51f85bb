"""The control panel's routes for what users do about a business and for test numbers
(`wanode.sandbox.platform.feedback`; the errors that follow in `wanode.sandbox.rules.policies`):

- `POST /handsets/{wa_id}/block {"phone_number_id", "report"?}`: the user blocks the number
  (with `"report": true`, blocks it and reports it as spam);
- `POST /handsets/{wa_id}/report {"phone_number_id"}`: reports it as spam (which blocks it);
- `POST /handsets/{wa_id}/unblock {"phone_number_id"}`;
- `POST /handsets/{wa_id}/marketing {"phone_number_id", "receive": false | true}`: stops or
  resumes the number's marketing messages;
- `PUT /numbers/{phone_number_id}/allowed-recipients {"allowed_recipients": [...] | null}`:
  makes the number a test number that sends only to those (up to 5), or lifts the list.

Each handset route answers the handset as `GET /handsets/{wa_id}` shows it (with `blocked` and
`marketing_stopped`); a bad body answers 400 naming the field, an unknown number 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wanode.sandbox.http import params
from wanode.sandbox.rules.errors import SandboxError

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

Answer = tuple[dict[str, Any], int]


class FeedbackActions:
    def __init__(self, sandbox: Platform) -> None:
        self.sandbox = sandbox

    def block(self, wa_id: str, body: dict[str, Any]) -> Answer:
        _keys(body, "phone_number_id", "report")
        report = body.get("report", False)
        if not isinstance(report, bool):
            raise SandboxError(400, "report must be true or false")
        handset = self.sandbox.block(wa_id, _number_id(body), report=report)
        return handset.as_json(), 200

    def report(self, wa_id: str, body: dict[str, Any]) -> Answer:
        _keys(body, "phone_number_id")
        return self.sandbox.block(wa_id, _number_id(body), report=True).as_json(), 200

    def unblock(self, wa_id: str, body: dict[str, Any]) -> Answer:
        _keys(body, "phone_number_id")
        return self.sandbox.unblock(wa_id, _number_id(body)).as_json(), 200

    def marketing(self, wa_id: str, body: dict[str, Any]) -> Answer:
        _keys(body, "phone_number_id", "receive")
        receive = body.get("receive")
        if not isinstance(receive, bool):
            raise SandboxError(400, "receive is required: false stops marketing, true resumes it")
        handset = self.sandbox.marketing(wa_id, _number_id(body), receive=receive)
        return handset.as_json(), 200

    async def allowed_recipients(self, request: Request) -> Response:
        body = await params.panel_object(request)
        _keys(body, "allowed_recipients")
        if "allowed_recipients" not in body:
            raise SandboxError(400, "allowed_recipients is required: a list, or null")
        phone_number_id = request.path_params["phone_number_id"]
        allowed = self.sandbox.set_allowed_recipients(phone_number_id, body["allowed_recipients"])
        return JSONResponse({"phone_number_id": phone_number_id, "allowed_recipients": allowed})


def _keys(body: dict[str, Any], *allowed: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise SandboxError(
            400, f"unknown field {unknown[0]!r}; this action takes {', '.join(allowed)}"
        )


def _number_id(body: dict[str, Any]) -> str:
    value = body.get("phone_number_id")
    if not isinstance(value, str) or not value:
        raise SandboxError(400, "phone_number_id is required")
    return value
