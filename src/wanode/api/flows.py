"""`/v1/flows`: deploy flow definitions (JSON or YAML), start runs, read a run and its history."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from wanode.api._request import json_object
from wanode.api._time import iso
from wanode.api.auth import own_app, require_key
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.engine.flows import UnknownFlow
from wanode.flows import InvalidFlow
from wanode.flows.source import load_yaml
from wanode.messages import InvalidMessage
from wanode.policy import normalise_number
from wanode.store import flows as store

router = APIRouter(dependencies=[Depends(require_key)])

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_DEPLOY_DOC = {
    "requestBody": {
        "required": True,
        "description": "A flow definition (see the README's Flows section), as JSON or YAML.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}
_RUN_DOC = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "variables": {
                            "type": "object",
                            "description": "values for variables the flow declares",
                        },
                        "waid": {
                            "type": "string",
                            "description": "the run's contact (what a Receive node without "
                            "`from` listens to)",
                        },
                    },
                }
            }
        },
    }
}


def invalid_flow(exc: InvalidFlow) -> JSONResponse:
    """400 with the first problem as the error, and every problem listed."""
    first = exc.problems[0]
    error: dict[str, Any] = {"code": first.code, "message": str(exc)}
    if first.field:
        error["field"] = first.field
    if first.node:
        error["node"] = first.node
    return JSONResponse(
        {"error": error, "problems": [p.as_json() for p in exc.problems]}, status_code=400
    )


def _definition(raw: bytes, content_type: str) -> Any:
    if content_type.split(";")[0].strip().lower() in _YAML_TYPES:
        try:
            return load_yaml(raw)
        except yaml.YAMLError as exc:
            raise ApiError(SYNC.INVALID_JSON, f"the body is not valid YAML ({exc})") from exc
    return json_object(raw)


@router.post("/v1/flows", status_code=201, openapi_extra=_DEPLOY_DOC)
async def deploy_flow(
    request: Request,
    app: str | None = Query(None, description="the app the flow uses (default: its `app`)"),
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> Any:
    """Check a definition and store it as the flow's next version (version 1 for a new id).
    An app's API key deploys flows of its own app only."""
    doc = _definition(await request.body(), request.headers.get("content-type", ""))
    if not caller.admin:
        app = await own_deploy(ctx, caller, doc, app)
    try:
        row, _flow = await ctx.engine.flows.deploy(doc, app_id=app)
    except InvalidFlow as exc:
        return invalid_flow(exc)
    return JSONResponse(_flow_json(row, {}), status_code=201)


@router.get("/v1/flows")
async def list_flows(
    ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        rows = await store.list_flows(conn)
    return {"flows": [_flow_json(row, None) for row in rows if caller.may_act_on(row["app_id"])]}


async def own_deploy(ctx: Context, caller: Caller, doc: Any, app: str | None) -> str:
    """The app an app key's deploy is for: its own. An app the query or the definition names
    must be it, and the flow id must not be another app's flow's."""
    if app is not None:
        own_app(caller, app, "app")
    named = doc.get("app") if isinstance(doc, dict) else None
    if isinstance(named, str):
        own_app(caller, named, "app")
    flow_id = doc.get("id") if isinstance(doc, dict) else None
    if isinstance(flow_id, str):
        async with ctx.db.begin() as conn:
            existing = await store.get_flow(conn, flow_id)
        if existing is not None and not caller.may_act_on(existing["app_id"]):
            raise ApiError(
                SYNC.INVALID_VALUE,
                f"flow id {flow_id} is taken by another app's flow",
                field="id",
                http_status=409,
            )
    return caller.app_id or ""


async def _flow(ctx: Context, caller: Caller, flow_id: str) -> dict[str, Any]:
    """The flow, if the caller's key may act on its app."""
    async with ctx.db.begin() as conn:
        row = await store.get_flow(conn, flow_id)
    if row is None or not caller.may_act_on(row["app_id"]):
        raise ApiError(SYNC.NOT_FOUND, f"no flow {flow_id}", field="flow_id")
    return row


@router.get("/v1/flows/{flow_id}")
async def get_flow(
    flow_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    row = await _flow(ctx, caller, flow_id)
    async with ctx.db.begin() as conn:
        counts = await store.count_runs(conn, flow_id)
    body = _flow_json(row, counts)
    body["definition"] = row["definition"]
    return body


@router.post("/v1/flows/{flow_id}/disable")
async def disable_flow(
    flow_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    await _flow(ctx, caller, flow_id)
    return await _enable(ctx, flow_id, False)


@router.post("/v1/flows/{flow_id}/enable")
async def enable_flow(
    flow_id: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    await _flow(ctx, caller, flow_id)
    return await _enable(ctx, flow_id, True)


async def _enable(ctx: Context, flow_id: str, enabled: bool) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        if not await store.set_enabled(conn, flow_id, enabled, now=ctx.engine.clock()):
            raise ApiError(SYNC.NOT_FOUND, f"no flow {flow_id}", field="flow_id")
        row = await store.get_flow(conn, flow_id)
    assert row is not None
    return _flow_json(row, None)


@router.post("/v1/flows/{flow_id}/runs", status_code=201, openapi_extra=_RUN_DOC)
async def start_run(
    flow_id: str,
    request: Request,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> Any:
    """Start a run (the Start node's API trigger) with input variables; it runs until it
    waits or ends before this answers."""
    if not caller.admin:
        await _flow(ctx, caller, flow_id)
    raw = await request.body()
    body = json_object(raw) if raw.strip() else {}
    unknown = sorted(set(body) - {"variables", "waid"})
    if unknown:
        raise ApiError(SYNC.INVALID_VALUE, f"{unknown[0]} is not a field", field=unknown[0])
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise ApiError(SYNC.INVALID_VALUE, "variables must be an object", field="variables")
    contact = body.get("waid")
    if contact is not None:
        if not isinstance(contact, str):
            raise ApiError(SYNC.INVALID_VALUE, "waid must be a string", field="waid")
        try:
            contact = normalise_number(contact, require_e164=False, field="waid")
        except InvalidMessage as exc:
            raise ApiError.from_invalid(exc, "") from exc
    try:
        run = await ctx.engine.flows.start(flow_id, variables=variables, contact=contact)
    except UnknownFlow as exc:
        raise ApiError(SYNC.NOT_FOUND, f"no enabled flow {flow_id}", field="flow_id") from exc
    except InvalidFlow as exc:
        return invalid_flow(exc)
    async with ctx.db.begin() as conn:
        history = await store.history(conn, run["id"])
    return JSONResponse(
        run_json(run, history),
        status_code=201,
        headers={"Location": f"/v1/flows/{flow_id}/runs/{run['id']}"},
    )


@router.get("/v1/flows/{flow_id}/runs")
async def list_runs(
    flow_id: str,
    status: str | None = Query(None, description="waiting, completed or failed"),
    limit: int = Query(100, ge=1, le=1000),
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    if not caller.admin:
        await _flow(ctx, caller, flow_id)
    async with ctx.db.begin() as conn:
        rows = await store.list_runs(conn, flow_id, status=status, limit=limit)
    return {"runs": [run_json(row, None) for row in rows]}


@router.get("/v1/flows/{flow_id}/runs/{run_id}")
async def get_run(
    flow_id: str,
    run_id: str,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """The run's state, variables, node outputs, what it waits for, and its history."""
    async with ctx.db.begin() as conn:
        run = await store.get_run(conn, run_id)
        if run is None or run["flow_id"] != flow_id or not caller.may_act_on(run["app_id"]):
            raise ApiError(SYNC.NOT_FOUND, f"no run {run_id} of flow {flow_id}", field="run_id")
        history = await store.history(conn, run_id)
    return run_json(run, history)


def _flow_json(row: dict[str, Any], counts: dict[str, int] | None) -> dict[str, Any]:
    body = {
        "id": row["id"],
        "name": row["name"],
        "version": row["version"],
        "app_id": row["app_id"],
        "enabled": row["enabled"],
        "whatsapp_trigger": row["whatsapp_trigger"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }
    if counts is not None:
        body["runs"] = counts
    return body


def run_json(run: dict[str, Any], history: list[dict[str, Any]] | None) -> dict[str, Any]:
    state = run["state"]
    wait = state.get("wait") if run["status"] == "waiting" else None
    body: dict[str, Any] = {
        "id": run["id"],
        "flow_id": run["flow_id"],
        "version": run["version"],
        "status": run["status"],
        "node": run["node"],
        "contact": run["contact"],
        "variables": state.get("variables", {}),
        "outputs": state.get("outputs", {}),
        "waiting_for": None
        if wait is None
        else {
            "kind": wait["kind"],
            "node": wait["node"],
            "until": iso(wait["deadline"]) if wait.get("deadline") is not None else None,
            **({"transid": wait["transid"]} if wait.get("transid") else {}),
            **({"target": wait["target"]} if wait.get("target") else {}),
        },
        "result": run["result"],
        "created_at": iso(run["created_at"]),
        "updated_at": iso(run["updated_at"]),
    }
    if history is not None:
        body["history"] = [
            {
                "node": h["node"],
                "outcome": h["outcome"],
                "variables": h["variables"],
                "at": iso(h["at"]),
            }
            for h in history
        ]
    return body
