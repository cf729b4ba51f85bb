"""Reading a request's path parameters and JSON body, refusing bad ones the way each API does:
Graph routes with `MetaError`, the control panel with `SandboxError`."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from wanode.sandbox.rules.errors import MetaError, SandboxError
from wanode.sandbox.rules.validation import normalise_wa_id
from wanode.sandbox.webhooks.payloads import parse_version


def version(request: Request) -> str:
    value: str = request.path_params["version"]
    if parse_version(value) is None:
        raise MetaError(100, f"{value!r} is not an API version (expected like v23.0)")
    return value


async def graph_json(request: Request) -> Any:
    """A Graph request's JSON body (100 when it is not JSON)."""
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise MetaError(100, "the request body is not valid JSON") from exc


def wa_id(request: Request) -> str:
    try:
        return normalise_wa_id(request.path_params["wa_id"])
    except MetaError as exc:
        raise SandboxError(400, exc.details) from exc


async def panel_json(request: Request) -> Any:
    """A control-panel request's JSON body (400 when it is not JSON)."""
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise SandboxError(400, "body is not valid JSON") from exc


async def panel_object(request: Request) -> dict[str, Any]:
    body = await panel_json(request)
    if not isinstance(body, dict):
        raise SandboxError(400, "body must be a JSON object")
    return body
