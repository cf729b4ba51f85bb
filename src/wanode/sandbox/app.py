"""The sandbox's HTTP surface: the control panel (`wanode.sandbox.handset`), then the Graph API
(`wanode.sandbox.graph`), with both errors answered in one place (`wanode.sandbox.http.errors`).

Routes are relative, so the app works mounted anywhere (wanode mounts it under `/sandbox`).
The control-panel routes come first: Graph's `/{version}/{object_id}` would otherwise swallow
every two-segment GET. The control panel is unauthenticated: it is the test bench's, not part
of the platform being imitated.
"""

from __future__ import annotations

from starlette.applications import Starlette

from wanode.sandbox.graph.routes import graph_routes
from wanode.sandbox.handset.routes import panel_routes
from wanode.sandbox.http.errors import HANDLERS
from wanode.sandbox.platform import Platform


def build_app(sandbox: Platform) -> Starlette:
    return Starlette(
        routes=[*panel_routes(sandbox), *graph_routes(sandbox)],
        exception_handlers=dict(HANDLERS),
    )
