"""The sandbox's HTTP surface: the control panel (`wanode.sandbox.handset`), then the Graph API
(`wanode.sandbox.graph`), with both errors answered in one place (`wanode.sandbox.http.errors`);
in front of both, the send path served without Starlette's routing
(`wanode.sandbox.graph.front`).

Routes are relative, so the app works mounted anywhere (wanode mounts it under `/sandbox`).
The control-panel routes come first: Graph's `/{version}/{object_id}` would otherwise swallow
every two-segment GET. The control panel is unauthenticated: it is the test bench's, not part
of the platform being imitated.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp

from wanode.sandbox.graph.front import SendFront
from wanode.sandbox.graph.routes import graph_routes, message_routes
from wanode.sandbox.handset.routes import panel_routes
from wanode.sandbox.http.errors import HANDLERS
from wanode.sandbox.platform import Platform


def build_app(sandbox: Platform) -> ASGIApp:
    messages = message_routes(sandbox)
    app = Starlette(
        routes=[*panel_routes(sandbox), *graph_routes(sandbox, messages)],
        exception_handlers=dict(HANDLERS),
    )
    return SendFront(app, sandbox, messages)
