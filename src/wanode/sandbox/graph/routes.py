"""The Graph API's route table: the Cloud API paths a client such as pywa or heyoo calls.

The download and QR-image routes come before `/{version}/{object_id}`, which would otherwise
swallow every two-segment GET; the last route answers every other path and method with a Graph
JSON error, never a bare 404 or 405.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

from wanode.sandbox.graph.entry_points import IMAGE_ROUTE, EntryRoutes
from wanode.sandbox.graph.messages import MessageRoutes
from wanode.sandbox.graph.numbers import GraphRoutes
from wanode.sandbox.graph.templates import TemplateRoutes

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

_EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def message_routes(sandbox: Platform) -> MessageRoutes:
    """The send and media routes (with the template and number routes they pass objects to)."""
    return MessageRoutes(sandbox, TemplateRoutes(sandbox), GraphRoutes(sandbox))


def graph_routes(sandbox: Platform, routes: MessageRoutes | None = None) -> list[Route]:
    """The route table; `routes`, when given, serves the message paths (the one
    `wanode.sandbox.graph.front` also serves sends with)."""
    routes = routes or message_routes(sandbox)
    templates = routes.templates
    graph = routes.graph
    entries = EntryRoutes(sandbox)
    return [
        Route("/attachments/{media_id}", routes.download, methods=["GET"], name="download"),
        Route("/qr/{code}.{image_format}", entries.image, methods=["GET"], name=IMAGE_ROUTE),
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
    ]


def _number_routes(graph: GraphRoutes) -> list[Route]:
    """Graph's phone-number and WABA endpoints (see `wanode.sandbox.graph.numbers`)."""
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
