"""The control panel's route table: numbers, the receive log, handsets and what they do
(`wanode.sandbox.handset.actions`; blocks, spam reports, marketing opt-outs and test numbers'
allowed lists in `wanode.sandbox.handset.feedback`), faults, templates' statuses, sample media."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wanode.sandbox.handset.actions import Actions, Answer
from wanode.sandbox.handset.feedback import FeedbackActions
from wanode.sandbox.handset.listing import HandsetList
from wanode.sandbox.handset.panel import PanelRoutes, sample_media
from wanode.sandbox.http import params

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

Endpoint = Callable[[Request], Awaitable[Response]]


def panel_routes(sandbox: Platform) -> list[Route]:
    routes = PanelRoutes(sandbox)
    actions = Actions(sandbox)
    feedback = FeedbackActions(sandbox)
    return [
        Route("/numbers", routes.list_numbers, methods=["GET"]),
        Route("/numbers", routes.provision, methods=["POST"]),
        Route("/log", routes.receive_log, methods=["GET"]),
        Route("/log/replays", routes.replays, methods=["GET"]),
        Route("/handsets", HandsetList(sandbox).handsets, methods=["GET"]),
        Route("/handsets/{wa_id}", routes.handset, methods=["GET"]),
        Route("/handsets/{wa_id}", routes.configure, methods=["PUT"]),
        Route("/handsets/{wa_id}/messages", routes.inbox, methods=["GET"]),
        Route("/handsets/{wa_id}/sent", routes.sent, methods=["GET"]),
        Route("/handsets/{wa_id}/identity", routes.rotate_identity, methods=["POST"]),
        Route("/handsets/{wa_id}/send", routes.send_text, methods=["POST"]),
        Route("/handsets/{wa_id}/send-media", _action(actions.send_media), methods=["POST"]),
        Route("/handsets/{wa_id}/send-location", _action(actions.send_location), methods=["POST"]),
        Route("/handsets/{wa_id}/send-contacts", _action(actions.send_contacts), methods=["POST"]),
        Route("/handsets/{wa_id}/react", _action(actions.react), methods=["POST"]),
        Route("/handsets/{wa_id}/tap-button", _action(actions.tap_button), methods=["POST"]),
        Route("/handsets/{wa_id}/pick-row", _action(actions.pick_row), methods=["POST"]),
        Route(
            "/handsets/{wa_id}/tap-quick-reply", _action(actions.tap_quick_reply), methods=["POST"]
        ),
        Route("/handsets/{wa_id}/open", _action(actions.open_link), methods=["POST"]),
        Route("/handsets/{wa_id}/block", _action(feedback.block), methods=["POST"]),
        Route("/handsets/{wa_id}/report", _action(feedback.report), methods=["POST"]),
        Route("/handsets/{wa_id}/unblock", _action(feedback.unblock), methods=["POST"]),
        Route("/handsets/{wa_id}/marketing", _action(feedback.marketing), methods=["POST"]),
        Route(
            "/numbers/{phone_number_id}/allowed-recipients",
            feedback.allowed_recipients,
            methods=["PUT"],
        ),
        Route("/faults/slow-answers", routes.slow_answers, methods=["POST"]),
        Route("/faults", routes.faults, methods=["GET"]),
        Route("/faults", routes.configure_faults, methods=["PUT"]),
        Route("/templates", routes.panel_list, methods=["GET"]),
        Route("/templates/{template_id}/status", routes.panel_status, methods=["POST"]),
        Route("/samples/{name}", sample_media, methods=["GET"]),
    ]


def _action(act: Callable[[str, dict[str, Any]], Answer]) -> Endpoint:
    """A control-panel endpoint for a handset action: `act(wa_id, body)` answers JSON."""

    async def endpoint(request: Request) -> Response:
        answer, status = act(params.wa_id(request), await params.panel_object(request))
        return JSONResponse(answer, status_code=status)

    return endpoint
