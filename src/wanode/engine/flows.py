"""The flow runner: deploys flows, starts runs, and feeds waiting runs the events that move them.

A step (`wanode.flows.advance`) is pure; this module loads the run, performs what the step asks
(queueing a message, an HTTP request), and stores the new state with its history. A step and the
message it queues commit in one transaction, so a run never sends twice and never loses a send.
What a send node does to queue its message is `wanode.engine.flow_send`.

What wakes a waiting run, each found by an indexed query, so that any worker (in any process)
can take it and a restart loses nothing:

- its message's status moved (`wait_kind = message`, the message row's status differs from
  the one the run last saw);
- a WhatsApp event from its contact (the flow inbox, written with the webhook);
- its deadline passed (timeouts and Delay nodes);
- an HTTP request to make (`wait_kind = http`, leased while in flight).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.codes import DR_CODES, SYNC, dr_for_meta_code
from wanode.codes import webex as codes
from wanode.config import Settings
from wanode.engine.flow_send import FlowSender
from wanode.engine.templates import definition_of
from wanode.flows import (
    Advance,
    Begin,
    Event,
    Flow,
    HistoryEntry,
    HttpResult,
    Inbound,
    InvalidFlow,
    MessageUpdate,
    Problem,
    RunState,
    Scope,
    Tapped,
    Timeout,
    UnresolvedVariable,
    advance,
    begin,
    parse_flow,
    state_from_json,
    state_to_json,
    whatsapp_variables,
)
from wanode.flows.conditions import evaluate
from wanode.flows.static_checks import send_problems, template_ids
from wanode.flows.step import EVENT_KEYS, dr_of
from wanode.guard import PrivateAddress, url_guard
from wanode.messages import TemplateDefinition
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import flows as store
from wanode.store import templates as registry
from wanode.store.ids import uuid7
from wanode.transport import PooledTransport

log = structlog.get_logger(__name__)

_DR_BY_DESCRIPTION = {dr.description: dr for dr in DR_CODES.values()}
HTTP_LEASE = 60.0
HTTP_CONNECTIONS = 64  # kept-alive connections of HTTP request nodes, all hosts together
MAX_EVENT_ATTEMPTS = 3
INBOX_BATCH = 50


class UnknownFlow(LookupError):
    pass


class FlowRunner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], float],
        wake: Callable[..., None] = lambda *loops: None,
        batch: int = 200,
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._wake = wake
        self._batch = batch
        self._flows: dict[tuple[str, int], Flow] = {}
        self._http: httpx.AsyncClient | None = None
        self._failures: dict[int, int] = {}
        self._suspect = False
        self._sender = FlowSender(settings, wake=wake)
        # Whether a run may be waiting on a message's status: the engine wakes this loop when
        # statuses move only while it is. Set when a run of this process starts waiting on a
        # message, and read from the database at every pass that finds the inbox empty (at
        # least every idle poll), so a run another process started is seen within one poll.
        self.watches_messages = True

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # Definitions.

    async def deploy(self, doc: Any, *, app_id: str | None = None) -> tuple[dict[str, Any], Flow]:
        """Check and store `doc` as the flow's next version. The app is the one named by the
        caller, or by the definition, or the only app there is.

        Raises `InvalidFlow` with every problem at once: the definition's own, and those of the
        messages its send nodes would send (`wanode.flows.static_checks`)."""
        now = self._clock()
        async with self._db.begin() as conn:
            flow, app, problems = await self._checked(conn, doc, app_id)
            if problems:
                raise InvalidFlow(problems)
            assert flow is not None and app is not None
            definition = {**dict(doc), "app": app["id"]}
            version = await store.deploy(
                conn,
                flow_id=flow.id,
                app_id=app["id"],
                name=flow.name,
                definition=definition,
                whatsapp_trigger=flow.whatsapp_trigger is not None,
                now=now,
            )
            row = await store.get_flow(conn, flow.id)
        assert row is not None
        log.info("flow_deployed", flow_id=flow.id, version=version)
        return row, parse_flow(definition, version=version)

    async def check(self, doc: Any, *, app_id: str | None = None) -> list[Problem]:
        """Every problem `deploy` would refuse `doc` for (none: it would deploy), storing
        nothing: the console's editor checks a definition as it is written."""
        async with self._db.begin() as conn:
            _flow, _app, problems = await self._checked(conn, doc, app_id)
        return problems

    async def _checked(
        self, conn: AsyncConnection, doc: Any, app_id: str | None
    ) -> tuple[Flow | None, dict[str, Any] | None, list[Problem]]:
        """The flow and its app, as far as they could be read, and every problem of `doc`."""
        problems: list[Problem] = []
        try:
            flow: Flow | None = parse_flow(doc, app_id=app_id)
        except InvalidFlow as exc:
            problems += exc.problems
            flow = None
        named = app_id or (doc.get("app") if isinstance(doc, Mapping) else None)
        named = named if isinstance(named, str) else None
        app = await self._app_for(conn, named)
        if app is None:
            problems.append(
                Problem(
                    "app: name the WhatsApp app this flow uses (there is not exactly one)"
                    if named is None
                    else f"app {named!r} does not exist",
                    field="app",
                    code=SYNC.INVALID_APP_ID,
                )
            )
        else:
            problems += await self._send_problems(conn, app, doc)
        return flow, app, problems

    async def _send_problems(
        self, conn: AsyncConnection, app: dict[str, Any], doc: Any
    ) -> list[Problem]:
        """The problems of the messages the send nodes of `doc` would send from `app`."""
        templates: dict[str, TemplateDefinition] = {}
        for template_id in template_ids(doc):
            row = await registry.get_for_waba(conn, app["waba_id"], template_id)
            if row is not None and row["synced_at"] is not None:
                templates[template_id] = definition_of(row)
        return send_problems(
            doc, templates=templates, app_id=app["id"], require_e164=app["require_e164"]
        )

    async def _app_for(self, conn: AsyncConnection, app_id: str | None) -> dict[str, Any] | None:
        if app_id is not None:
            return await app_queries.get_app(conn, app_id)
        apps = await app_queries.list_apps(conn)
        return apps[0] if len(apps) == 1 else None

    async def _flow(self, conn: AsyncConnection, flow_id: str, version: int) -> Flow:
        key = (flow_id, version)
        flow = self._flows.get(key)
        if flow is None:
            definition = await store.get_version(conn, flow_id, version)
            if definition is None:
                raise UnknownFlow(flow_id)
            flow = parse_flow(definition, version=version)
            self._flows[key] = flow
        return flow

    # Starting runs.

    async def start(
        self,
        flow_id: str,
        *,
        variables: Mapping[str, Any] | None = None,
        contact: str | None = None,
    ) -> dict[str, Any]:
        """A run of the flow's current version started from the API; returns the run's row."""
        now = self._clock()
        async with self._db.begin() as conn:
            row = await store.get_flow(conn, flow_id)
            if row is None or not row["enabled"]:
                raise UnknownFlow(flow_id)
            flow = await self._flow(conn, flow_id, row["version"])
            if not flow.api_trigger:
                raise InvalidFlow(
                    [Problem("this flow's start node has no API trigger", flow.start, "triggers")]
                )
            given = dict(variables or {})
            unknown = sorted(set(given) - set(flow.variables))
            if unknown:
                raise InvalidFlow(
                    [
                        Problem(
                            f"{unknown[0]} is not a variable of flow {flow_id}: declare it"
                            " under variables",
                            field=f"variables.{unknown[0]}",
                        )
                    ]
                )
            run_id = await self._begin(
                conn, flow, row["app_id"], Begin(variables=given, contact=contact), now
            )
            run = await store.get_run(conn, run_id)
        assert run is not None
        return run

    async def _begin(
        self, conn: AsyncConnection, flow: Flow, app_id: str, event: Begin, now: float
    ) -> str:
        run_id = uuid7()
        step = await self._perform(conn, flow, run_id, app_id, begin(flow, event, now=now), now)
        self._note_wait(step.state)
        await store.insert_run(
            conn,
            run_id=run_id,
            flow_id=flow.id,
            version=flow.version,
            app_id=app_id,
            state=state_to_json(step.state),
            now=now,
        )
        await store.add_history(conn, run_id, _history(step.history))
        log.info("flow_run_started", flow_id=flow.id, run_id=run_id, status=step.state.status)
        return run_id

    # The loop.

    async def run_once(self) -> int:
        """One pass: the inbox first (a customer waits on the reply), then the runs whose
        message moved or whose deadline passed and the HTTP requests to make, then those
        requests. A pass that finds the inbox empty does the rest in the same transaction: one
        transaction when there is nothing to do. On SQLite each transaction takes its turn
        behind the process's others, and the loop runs a pass for every batch of status
        updates."""
        handled, found = await self._inbox()
        if found is None:
            async with self._db.begin() as conn:
                found = await self._wakes(conn)
        claimed, requests = found
        if requests:
            await self._http_requests(requests)
        return handled + claimed + len(requests)

    async def _step(
        self,
        conn: AsyncConnection,
        run: dict[str, Any],
        event: Event,
        now: float,
        *,
        wait_status: str | None = None,
    ) -> Advance:
        flow = await self._flow(conn, run["flow_id"], run["version"])
        state = state_from_json(run["state"])
        step = await self._perform(
            conn, flow, run["id"], run["app_id"], advance(flow, state, event, now=now), now
        )
        if step.state != state or wait_status is not None:
            self._note_wait(step.state)
            await store.save_run(
                conn, run["id"], state_to_json(step.state), now=now, wait_status=wait_status
            )
            await store.add_history(conn, run["id"], _history(step.history))
        return step

    async def _perform(
        self, conn: AsyncConnection, flow: Flow, run_id: str, app_id: str, step: Advance, now: float
    ) -> Advance:
        """Carry out the step's intents (queueing messages), feeding each result back."""
        history = list(step.history)
        while step.intents:
            [intent] = step.intents
            result = await self._sender.send(conn, run_id, app_id, intent, now)
            step = advance(flow, step.state, result, now=now)
            history.extend(step.history)
        return Advance(step.state, (), tuple(history))

    async def _inbox(self) -> tuple[int, tuple[int, list[dict[str, Any]]] | None]:
        """Match inbox events to runs and triggers, in order, a batch per transaction; after a
        failed batch, one event per transaction until the failing one is found. Returns the
        events handled and, when a claim took what there was, what `_wakes` did in that
        claim's transaction (None: it is still to do)."""
        handled = 0
        found: tuple[int, list[dict[str, Any]]] | None = None
        while handled < self._batch:
            rows: list[dict[str, Any]] = []
            limit = 1 if self._suspect else INBOX_BATCH
            try:
                async with self._db.begin() as conn:
                    rows = await store.take_events(conn, limit=limit)
                    # After the claim: an event stored while this waited for the database is
                    # never handled at a time before it arrived.
                    now = self._clock()
                    for row in rows:
                        await self._on_event(conn, row, now)
                    if len(rows) < limit:
                        # The claim took what there was. Whether the rest of the pass has
                        # anything to do is one read in this transaction: a pass with nothing
                        # else to do takes one transaction, not two.
                        pending, self.watches_messages = await store.pending_wakes(
                            conn, now=self._clock()
                        )
                        if not pending:
                            found = (0, [])
                        elif not rows:
                            found = await self._wakes(conn)
                self._suspect = False
                if len(rows) < limit:
                    # No second claim (and its turn behind the process's other transactions)
                    # only to find the inbox empty.
                    handled += len(rows)
                    break
            except Exception:
                # Rolled back: the events stay and are tried again (a deadlock between two
                # workers passes); one that keeps failing alone is logged and set aside.
                found = None
                if len(rows) > 1:
                    self._suspect = True
                    continue
                if not rows or self._failures.get(rows[0]["id"], 0) + 1 < MAX_EVENT_ATTEMPTS:
                    if rows:
                        self._failures[rows[0]["id"]] = self._failures.get(rows[0]["id"], 0) + 1
                    raise
                log.exception("flow_event_dropped", wamid=rows[0]["wamid"])
                self._failures.pop(rows[0]["id"], None)
                async with self._db.begin() as conn:
                    await store.drop_events(conn, [rows[0]["id"]])
            handled += len(rows)
        return handled, found

    async def _on_event(self, conn: AsyncConnection, row: dict[str, Any], now: float) -> None:
        event = row["event"]
        context = event.get("contextId")
        if context and event.get("event") != "MO":
            sender = await store.send_of_wamid(conn, context)
            run = await store.get_run(conn, sender["run_id"], lock=True) if sender else None
            if sender is not None and run is not None:
                await self._step(conn, run, Tapped(sender["node"], _tap(event)), now)
        resumed = False
        for run in await store.waiting_for_inbound(conn, row["app_id"], row["wa_id"]):
            step = await self._step(conn, run, Inbound(event, at=row["received_at"]), now)
            # A run whose wait had already timed out moves on without taking the event.
            if step.history and step.history[0].outcome == "whatsapp.mo":
                resumed = True
        if resumed:
            return
        # An event no Receive node took may start runs of the flows it triggers.
        name = EVENT_KEYS.get(str(event.get("event", "")))
        for flow_row in await store.triggered_by_whatsapp(conn, row["app_id"]):
            flow = await self._flow(conn, flow_row["id"], flow_row["version"])
            trigger = flow.whatsapp_trigger
            if trigger is None or name not in trigger.events:
                continue
            if trigger.condition is not None:
                session = whatsapp_variables(event)
                scope = Scope(
                    flow.variables,
                    {flow.start: {f"whatsapp.{k}": v for k, v in session.items()}},
                    session,
                )
                try:
                    if not evaluate(trigger.condition, scope):
                        continue
                except UnresolvedVariable:
                    continue
            if trigger.skip_if_waiting and await store.has_waiting_run(conn, flow.id, row["wa_id"]):
                log.info("flow_trigger_skipped", flow_id=flow.id, reason="run waiting")
                continue
            await self._begin(conn, flow, row["app_id"], Begin(event=event), now)

    async def _wakes(self, conn: AsyncConnection) -> tuple[int, list[dict[str, Any]]]:
        """Step the runs whose awaited message moved and those whose deadline passed, and lease
        the HTTP requests to make, in `conn`'s transaction; returns the runs stepped and the
        requests leased."""
        now = self._clock()
        changed = await store.claim_message_changes(conn, limit=self._batch)
        for run in changed:
            await self._step(conn, run, _update(run), now, wait_status=run["message_status"])
        due = await store.claim_due(conn, now=now, limit=self._batch)
        for run in due:
            await self._step(conn, run, Timeout(now), now)
        requests = await store.claim_http(conn, now=now, lease=HTTP_LEASE, limit=self._batch)
        self.watches_messages = await store.any_waiting_on_message(conn)
        return len(changed) + len(due), requests

    def _note_wait(self, state: RunState) -> None:
        if state.status == "waiting" and state.wait is not None and state.wait.kind == "message":
            self.watches_messages = True

    async def _http_requests(self, rows: list[dict[str, Any]]) -> None:
        """Make the leased requests at once, then step each run with its response."""
        results = await asyncio.gather(*(self._request(run) for run in rows))
        for run, result in zip(rows, results, strict=True):
            now = self._clock()
            async with self._db.begin() as conn:
                current = await store.get_run(conn, run["id"], lock=True)
                if current is None or current["wait_kind"] != "http":
                    continue
                await self._step(conn, current, result, now)

    async def _request(self, run: dict[str, Any]) -> HttpResult:
        wait = state_from_json(run["state"]).wait
        assert wait is not None and wait.request is not None
        request = wait.request
        url = str(request["url"])
        if self._http is None:
            # The guard resolves each connection's host once and connects to what it approved.
            guard = url_guard(self._settings.private_urls_allowed())
            self._http = httpx.AsyncClient(
                follow_redirects=False, transport=PooledTransport(HTTP_CONNECTIONS, guard=guard)
            )
        try:
            body = request.get("body")
            kwargs: dict[str, Any] = {"headers": dict(request["headers"])}
            if isinstance(body, dict | list):
                kwargs["json"] = body
            elif body is not None:
                kwargs["content"] = str(body)
            response = await self._http.request(
                request["method"], url, timeout=float(request["timeout"]), **kwargs
            )
        except httpx.TimeoutException:
            return HttpResult(wait.node, error="timeout", timed_out=True)
        except (httpx.HTTPError, PrivateAddress, ValueError) as exc:
            return HttpResult(wait.node, error=f"{type(exc).__name__}: {exc}")
        return HttpResult(
            wait.node,
            status_code=response.status_code,
            status_text=response.reason_phrase,
            body=response.text,
            headers=dict(response.headers),
        )


def _tap(event: Mapping[str, Any]) -> dict[str, Any]:
    """`send.response_interactive`: what was tapped on the message."""
    keys = (
        "event",
        "buttonPayload",
        "buttonText",
        "listRowIdentifier",
        "listRowTitle",
        "replyButtonIdentifier",
        "replyButtonTitle",
        "ts",
    )
    return {key: event[key] for key in keys if event.get(key) not in (None, "")}


def _update(run: dict[str, Any]) -> MessageUpdate:
    """The waited-on message's status as the step sees it: its DR code, and whether a failure
    came back from WhatsApp (the message had been submitted) or was decided before sending."""
    status = run["message_status"]
    if status == "failed":
        code = run["message_error_code"]
        if code is not None:
            dr = dr_for_meta_code(code)
        else:
            dr = _DR_BY_DESCRIPTION.get(run["message_error_title"] or "", codes.UNKNOWN_STATUS)
        source = "webhook" if run["message_submitted_at"] is not None else "gateway"
    else:
        found = dr_of(status)
        dr = found if found is not None else codes.SUBMITTED
        source = "webhook" if status in ("delivered", "read") else "gateway"
    return MessageUpdate(
        transid=run["wait_transid"],
        status=status,
        code=dr.code,
        description=dr.description,
        source=source,
        at=run["message_status_at"],
    )


def _history(entries: tuple[HistoryEntry, ...]) -> list[dict[str, Any]]:
    return [
        {"node": e.node, "outcome": e.outcome, "variables": dict(e.variables), "at": e.at}
        for e in entries
    ]
