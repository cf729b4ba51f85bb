"""The Flows page: flows and their versions, a definition drawn as a graph, an editor that checks
a definition through the deploy route's own checks and pins each problem to its node, runs with
their state, and a run's path on the graph with each step's outputs (live while it waits).

What a key sees is what it sees through `/v1/flows`: an app's key, its app's flows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.api.flows import own_deploy
from wanode.console import flow_editor
from wanode.console.flow_graph import layout, travelled
from wanode.console.render import page
from wanode.console.session import ConsoleSession, csrf_checked, require_session
from wanode.engine.flows import UnknownFlow
from wanode.flows import InvalidFlow, Problem
from wanode.messages import InvalidMessage
from wanode.policy import normalise_number
from wanode.store import apps as app_queries
from wanode.store import flows as store

router = APIRouter(prefix="/console", include_in_schema=False)

RUNS_PER_PAGE: Final = 20
RUN_STATUSES: Final = ("waiting", "completed", "failed")


@router.get("/flows")
async def flows_list(
    request: Request,
    session: ConsoleSession = Depends(require_session),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    async with ctx.db.begin() as conn:
        rows = [r for r in await store.list_flows(conn) if session.caller.may_act_on(r["app_id"])]
        counts = {r["id"]: await store.count_runs(conn, r["id"]) for r in rows}
    return page(request, session, "flows_list.html", flows=rows, counts=counts)


@router.get("/flows/-/new")
async def new_flow(
    request: Request,
    session: ConsoleSession = Depends(require_session),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    return await _editor_page(request, session, ctx, flow_editor.STARTER, app="", problems=None)


@router.post("/flows/-/check")
async def check_flow(
    request: Request,
    definition: str = Form(""),
    app: str = Form(""),
    session: ConsoleSession = Depends(csrf_checked),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    """The editor's Check: the problems the deploy route would refuse the text for, drawn on
    its graph (an htmx fragment)."""
    doc, problems = await _problems(ctx, session.caller, definition, app or None)
    return page(request, session, "flows_check.html", **_checked_view(doc, problems), checked=True)


@router.post("/flows/-/deploy", response_model=None)
async def deploy_flow(
    request: Request,
    definition: str = Form(""),
    app: str = Form(""),
    session: ConsoleSession = Depends(csrf_checked),
    ctx: Context = Depends(context),
) -> Response:
    """Deploy the editor's text as the flow's next version; refused with the editor shown again,
    every problem pinned to its node."""
    doc, problems = await _problems(ctx, session.caller, definition, app or None)
    if not problems:
        target = await _own_app(ctx, session.caller, doc, app or None)
        try:
            row, _flow = await ctx.engine.flows.deploy(doc, app_id=target)
        except InvalidFlow as exc:  # changed between the check and now (an app, a template)
            problems = exc.problems
        else:
            return RedirectResponse(f"/console/flows/{row['id']}?deployed=1", status_code=303)
    return await _editor_page(
        request, session, ctx, definition, app=app, problems=problems, status_code=422
    )


@router.get("/flows/{flow_id}")
async def flow_page(
    request: Request,
    flow_id: str,
    version: int | None = Query(None, ge=1),
    status: str = Query(""),
    page_number: int = Query(1, ge=1, alias="page"),
    session: ConsoleSession = Depends(require_session),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    return await _flow_view(
        request, session, ctx, flow_id, version=version, status=status, page_number=page_number
    )


@router.post("/flows/{flow_id}/enabled", response_model=None)
async def set_enabled(
    request: Request,
    flow_id: str,
    enabled: bool = Form(...),
    session: ConsoleSession = Depends(csrf_checked),
    ctx: Context = Depends(context),
) -> Response:
    """Enable or disable the flow, as `POST /v1/flows/{id}/enable|disable` do: a disabled flow
    starts no new runs; runs already started go on."""
    if await _flow_row(ctx, session.caller, flow_id) is None:
        return _missing(request, session, f"No flow {flow_id}")
    async with ctx.db.begin() as conn:
        await store.set_enabled(conn, flow_id, enabled, now=ctx.engine.clock())
    return RedirectResponse(f"/console/flows/{flow_id}", status_code=303)


@router.post("/flows/{flow_id}/runs", response_model=None)
async def start_run(
    request: Request,
    flow_id: str,
    waid: str = Form(""),
    variables: str = Form(""),
    session: ConsoleSession = Depends(csrf_checked),
    ctx: Context = Depends(context),
) -> Response:
    """Start a run of the flow's current version, as `POST /v1/flows/{id}/runs` does."""
    if await _flow_row(ctx, session.caller, flow_id) is None:
        return _missing(request, session, f"No flow {flow_id}")
    try:
        given = orjson.loads(variables) if variables.strip() else {}
        if not isinstance(given, dict):
            raise ValueError("must be a JSON object of name to value")
        contact = (
            normalise_number(waid.strip(), require_e164=False, field="waid")
            if waid.strip()
            else None
        )
        run = await ctx.engine.flows.start(flow_id, variables=given, contact=contact)
    except InvalidMessage as exc:
        error = f"waid: {exc.reason}"
    except InvalidFlow as exc:
        error = str(exc)
    except UnknownFlow:
        error = f"flow {flow_id} is disabled"
    except ValueError as exc:  # orjson's decode error too
        error = f"variables: {exc}"
    else:
        return RedirectResponse(f"/console/flows/{flow_id}/runs/{run['id']}", status_code=303)
    return await _flow_view(
        request, session, ctx, flow_id, run_error=error, waid=waid, variables=variables
    )


@router.get("/flows/{flow_id}/runs/{run_id}")
async def run_page(
    request: Request,
    flow_id: str,
    run_id: str,
    session: ConsoleSession = Depends(require_session),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    """A run: its state, its path on the graph of its version, and each step's outputs. While
    it waits the page polls this route, which then answers the live part alone."""
    async with ctx.db.begin() as conn:
        run = await store.get_run(conn, run_id)
        if run is None or run["flow_id"] != flow_id or not session.caller.may_act_on(run["app_id"]):
            return _missing(request, session, f"No run {run_id} of flow {flow_id}")
        history = await store.history(conn, run_id)
        definition = await store.get_version(conn, flow_id, run["version"]) or {}
    graph = layout(definition)
    visited, taken = travelled(graph, [(h["node"], h["outcome"]) for h in history])
    state = run["state"]
    view = {
        "run": run,
        "history": history,
        "graph": graph,
        "visited": visited,
        "taken": taken,
        "current": run["node"] if run["status"] == "waiting" else None,
        "pinned": {},
        "wait": state.get("wait") if run["status"] == "waiting" else None,
        "outputs": state.get("outputs") or {},
        "variables": state.get("variables") or {},
        "pretty": _pretty,
    }
    live = request.headers.get("hx-request") == "true"
    return page(request, session, "flows_run_live.html" if live else "flows_run.html", **view)


async def _flow_view(
    request: Request,
    session: ConsoleSession,
    ctx: Context,
    flow_id: str,
    *,
    version: int | None = None,
    status: str = "",
    page_number: int = 1,
    **extra: Any,
) -> HTMLResponse:
    row = await _flow_row(ctx, session.caller, flow_id)
    if row is None:
        return _missing(request, session, f"No flow {flow_id}")
    shown = version or row["version"]
    status = status if status in RUN_STATUSES else ""
    async with ctx.db.begin() as conn:
        versions = await store.list_versions(conn, flow_id)
        definition = await store.get_version(conn, flow_id, shown)
        counts = await store.count_runs(conn, flow_id)
        runs = await store.list_runs(
            conn,
            flow_id,
            status=status or None,
            limit=RUNS_PER_PAGE + 1,
            offset=(page_number - 1) * RUNS_PER_PAGE,
        )
    if definition is None:
        return _missing(request, session, f"Flow {flow_id} has no version {shown}")
    return page(
        request,
        session,
        "flows_flow.html",
        status_code=400 if "run_error" in extra else 200,
        flow=row,
        shown=shown,
        versions=versions,
        graph=layout(definition),
        pinned={},
        visited=set(),
        taken=set(),
        current=None,
        text=flow_editor.dump(definition),
        app=row["app_id"] or "",
        apps=await _apps(ctx, session.caller),
        counts=counts,
        runs=runs[:RUNS_PER_PAGE],
        status=status,
        statuses=RUN_STATUSES,
        page_number=page_number,
        more=len(runs) > RUNS_PER_PAGE,
        deployed=request.query_params.get("deployed") == "1",
        **{"waid": "", "variables": "", "run_error": None, **extra},
    )


async def _editor_page(
    request: Request,
    session: ConsoleSession,
    ctx: Context,
    text: str,
    *,
    app: str,
    problems: list[Problem] | None,
    status_code: int = 200,
) -> HTMLResponse:
    view = _checked_view(flow_editor.read(text).doc, problems or [])
    return page(
        request,
        session,
        "flows_editor.html",
        status_code=status_code,
        text=text,
        app=app,
        apps=await _apps(ctx, session.caller),
        checked=problems is not None,
        **view,
    )


def _checked_view(doc: Any, problems: Sequence[Problem]) -> dict[str, Any]:
    return {
        "graph": layout(doc),
        "problems": list(problems),
        "pinned": flow_editor.by_node(problems),
        "visited": set(),
        "taken": set(),
        "current": None,
    }


async def _problems(
    ctx: Context, caller: Caller, text: str, app: str | None
) -> tuple[Any, list[Problem]]:
    """The editor's text read, and every problem the deploy route would refuse it for."""
    source = flow_editor.read(text)
    if source.problem is not None:
        return None, [source.problem]
    try:
        target = await _own_app(ctx, caller, source.doc, app)
    except ApiError as exc:
        return source.doc, [Problem(exc.description, field=exc.field, code=exc.code)]
    return source.doc, await ctx.engine.flows.check(source.doc, app_id=target)


async def _own_app(ctx: Context, caller: Caller, doc: Any, app: str | None) -> str | None:
    """The app to deploy for: as the deploy route decides it (an app's key: its own app)."""
    return app if caller.admin else await own_deploy(ctx, caller, doc, app)


async def _flow_row(ctx: Context, caller: Caller, flow_id: str) -> dict[str, Any] | None:
    async with ctx.db.begin() as conn:
        row = await store.get_flow(conn, flow_id)
    return row if row is not None and caller.may_act_on(row["app_id"]) else None


async def _apps(ctx: Context, caller: Caller) -> list[dict[str, Any]]:
    async with ctx.db.begin() as conn:
        rows = await app_queries.list_apps(conn)
    return [{"id": r["id"], "name": r.get("name")} for r in rows if caller.may_act_on(r["id"])]


def _missing(request: Request, session: ConsoleSession, message: str) -> HTMLResponse:
    return page(request, session, "flows_missing.html", status_code=404, message=message)


def _pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
