"""Reading a request's path parameters and JSON body, refusing bad ones the way each API does:
Graph routes with `MetaError`, the control panel with `SandboxError`."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.requests import Request

from wanode.sandbox.rules.errors import MetaError, SandboxError
from wanode.sandbox.rules.validation import normalise_wa_id
from wanode.sandbox.webhooks.payloads import parse_version

# orjson reads an integer past 64 bits as a float, where the stdlib keeps it whole: a body with
# a run of 19 digits (maybe such a number, maybe a string) is read by the stdlib.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def version(request: Request) -> str:
    return checked_version(request.path_params["version"])


def checked_version(value: str) -> str:
    """A Graph path's API version, as given (100 when it is not one, like v23.0)."""
    if parse_version(value) is None:
        raise MetaError(100, f"{value!r} is not an API version (expected like v23.0)")
    return value


async def graph_json(request: Request) -> Any:
    """A Graph request's JSON body (100 when it is not JSON)."""
    return graph_body(await request.body())


def graph_body(raw: bytes) -> Any:
    """A Graph request body's JSON (100 when it is not JSON).

    orjson reads what it can; what it refuses the stdlib's reader judges (it takes more:
    NaN, infinities, lone surrogates, UTF-16 and UTF-32, a byte-order mark), so what is JSON
    and what it means are the stdlib's, as they always were.
    """
    if _LONG_NUMBER.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(raw)
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
