"""A flow step: (run state, event) → (new state, intents, history). Pure: no I/O, no clock.

The runtime feeds a run one event at a time. The step walks nodes until the run has to wait
(for a message status, a WhatsApp event, a timer or an HTTP response), ends, or asks for a
message to be queued (a `SendIntent`, which the runtime answers at once with a `SendResult`
in the same transaction).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from wanode.codes import webex as codes
from wanode.flows.conditions import evaluate
from wanode.flows.definition import NONE_OF_THE_ABOVE
from wanode.flows.model import (
    SUCCESS_EDGE,
    WAIT_NONE,
    WHATSAPP_EVENTS,
    Advance,
    Begin,
    Event,
    Flow,
    HistoryEntry,
    HttpResult,
    Inbound,
    Intent,
    MessageUpdate,
    Node,
    RunState,
    SendIntent,
    SendResult,
    Tapped,
    Timeout,
    Wait,
)
from wanode.flows.variables import (
    Scope,
    UnresolvedVariable,
    as_text,
    payload_of,
    whatsapp_variables,
)

# Nodes executed in one step at most: a loop built from branches without a wait ends here.
MAX_NODES_PER_STEP: Final = 1000
# DR codes of the send policies (expiry, 24-hour window, opt-in, identity hash): onPolicyFail.
POLICY_CODES: Final = frozenset({"7705", "7710", "9002", "7862"})
# Status ranks for Wait For; `failed` is handled on its own.
_RANK: Final = {"queued": 0, "submitted": 1, "sent": 2, "delivered": 3, "read": 4}
_TARGET_RANK: Final = {"submit": 1, "delivery": 3, "read": 4}
_DR_BY_STATUS: Final = {
    "submitted": codes.SUBMITTED,
    "sent": codes.SUBMITTED,
    "delivered": codes.DELIVERED,
    "read": codes.READ,
}
# Outcomes that end a run "with an error" when left unconnected (Webex flow result 102).
_RED_OR_AMBER: Final = frozenset({"onError", "onPolicyFail", "onDeliveryReportFail", "onTimeout"})
EVENT_KEYS: Final = {name: key for key, name in WHATSAPP_EVENTS.items()}


def begin(flow: Flow, event: Begin, *, now: float) -> Advance:
    """A new run of `flow`, from its start node."""
    variables = dict(flow.variables)
    variables.update(event.variables)
    session = whatsapp_variables(event.event) if event.event is not None else {}
    contact = event.contact or (session.get("waId") or None)
    state = RunState(status="waiting", node=flow.start, contact=contact, variables=variables)
    run = _Run(flow, state, now)
    outputs = {f"whatsapp.{k}": v for k, v in session.items()}
    run.session = dict(session)
    run.leave(flow.start, "onStart", outputs=outputs, changed=dict(event.variables))
    return run.finish()


def advance(flow: Flow, state: RunState, event: Event, *, now: float) -> Advance:
    """The run after `event`; an event the run is not waiting for changes nothing."""
    if isinstance(event, Tapped):
        # A tap on an earlier message's button: recorded, whatever the run is doing now.
        if event.node not in state.outputs:
            return Advance(state)
        outputs = {k: dict(v) for k, v in state.outputs.items()}
        outputs[event.node]["send.response_interactive"] = dict(event.value)
        return Advance(dataclasses.replace(state, outputs=outputs))
    wait = state.wait
    if state.status != "waiting" or wait is None:
        return Advance(state)
    run = _Run(flow, state, now)
    node = flow.nodes[wait.node]
    if isinstance(event, SendResult) and wait.kind == "send" and event.node == node.id:
        run.sent(node, event)
    elif isinstance(event, MessageUpdate) and wait.kind == "message":
        if event.transid != wait.transid:
            return Advance(state)
        run.message_update(node, wait, event)
    elif isinstance(event, Inbound) and wait.kind == "inbound":
        name = EVENT_KEYS.get(str(event.event.get("event", "")))
        if name not in wait.events:
            return Advance(state)
        arrived = now if event.at is None else event.at
        if wait.deadline is not None and arrived >= wait.deadline:
            # A reply after the timeout does not resume the run: the wait has timed out.
            run.timed_out(node, wait)
        else:
            run.received(node, event)
    elif isinstance(event, Timeout):
        if wait.deadline is None or event.at < wait.deadline:
            return Advance(state)
        run.timed_out(node, wait)
    elif isinstance(event, HttpResult) and wait.kind == "http" and event.node == node.id:
        run.http_done(node, event)
    else:
        return Advance(state)
    return run.finish()


class _Run:
    """One step in progress: the state being changed, and what it produced."""

    def __init__(self, flow: Flow, state: RunState, now: float) -> None:
        self.flow = flow
        self.now = now
        self.status = state.status
        self.node = state.node
        self.contact = state.contact
        self.variables = dict(state.variables)
        self.outputs = {k: dict(v) for k, v in state.outputs.items()}
        self.session = dict(state.session)
        self.wait: Wait | None = state.wait
        self.result = state.result
        self.steps = state.steps
        self.intents: list[Intent] = []
        self.history: list[HistoryEntry] = []
        self._executed = 0
        # The node an edge leads to, entered by `finish`: nodes run in a loop, not by recursion,
        # so a long chain (or a loop without a wait) cannot exhaust the stack.
        self._next: str | None = None

    def finish(self) -> Advance:
        while self._next is not None:
            self.node, self._next = self._next, None
            self.execute()
        state = RunState(
            status=self.status,
            node=self.node,
            contact=self.contact,
            variables=self.variables,
            outputs=self.outputs,
            session=self.session,
            wait=self.wait,
            result=self.result,
            steps=self.steps,
        )
        return Advance(state, tuple(self.intents), tuple(self.history))

    def scope(self) -> Scope:
        return Scope(self.variables, self.outputs, self.session)

    # Leaving a node: record it, then follow the outcome's edge.

    def leave(
        self,
        node_id: str,
        outcome: str,
        *,
        outputs: Mapping[str, Any] | None = None,
        changed: Mapping[str, Any] | None = None,
    ) -> None:
        recorded: dict[str, Any] = {}
        if outputs:
            self.outputs.setdefault(node_id, {}).update(outputs)
            recorded.update({f"{node_id}.{k}": v for k, v in outputs.items()})
        if changed:
            recorded.update(changed)
        self.history.append(HistoryEntry(node_id, outcome, recorded, self.now))
        self.steps += 1
        self.wait = None
        target = self.flow.nodes[node_id].edges.get(outcome)
        if target is None:
            red = outcome in _RED_OR_AMBER
            self.end(
                {
                    "code": 102 if red else 101,
                    "description": (
                        f"Flow completed with an error: outcome {outcome} of node {node_id}"
                        if red
                        else f"Flow completed: outcome {outcome} of node {node_id}"
                    ),
                    "node": node_id,
                    "outcome": outcome,
                }
            )
            return
        self._next = target

    def end(self, result: Mapping[str, Any], *, failed: bool = False) -> None:
        self.status = "failed" if failed else "completed"
        self.result = dict(result)
        self.wait = None

    def pause(self, wait: Wait) -> None:
        self.status = "waiting"
        self.wait = wait

    # Entering a node.

    def execute(self) -> None:
        self._executed += 1
        node = self.flow.nodes[self.node]
        if self._executed > MAX_NODES_PER_STEP:
            self.end(
                {
                    "code": 102,
                    "description": f"Flow stopped: {MAX_NODES_PER_STEP} nodes ran without a wait",
                    "node": node.id,
                    "outcome": "loop",
                },
                failed=True,
            )
            return
        enter = getattr(self, f"_enter_{node.type}")
        try:
            enter(node)
        except UnresolvedVariable as exc:
            self._unresolved(node, exc)

    def _unresolved(self, node: Node, exc: UnresolvedVariable) -> None:
        if "onError" in node.edges:
            outputs = _error_outputs(node, codes_text="7004", description=str(exc))
            self.leave(node.id, "onError", outputs=outputs)
        else:
            self.history.append(HistoryEntry(node.id, "error", {"error": str(exc)}, self.now))
            self.end(
                {"code": 102, "description": str(exc), "node": node.id, "outcome": "error"},
                failed=True,
            )

    def _enter_whatsapp(self, node: Node) -> None:
        settings = node.settings
        scope = self.scope()
        request: dict[str, Any] = {
            "destination_type": settings["destination_type"],
            "destination": scope.text(settings["destination"]).strip(),
            "wait_for": settings["wait_for"],
        }
        for key in ("wa", "template", "options"):
            if settings.get(key) is not None:
                request[key] = scope.value(settings[key])
        for key in (
            "identity_key_hash",
            "correlation_id",
            "callback_data",
            "notify_url",
            "notify_auth_id",
        ):
            if settings.get(key) is not None:
                request[key] = scope.text(settings[key])
        if settings.get("expiry") is not None:
            expiry = settings["expiry"]
            request["expiry"] = scope.text(expiry) if isinstance(expiry, str) else expiry
        self.intents.append(SendIntent(node.id, request))
        self.pause(Wait(kind="send", node=node.id))

    def _enter_receive(self, node: Node) -> None:
        source = node.settings.get("from")
        contact = self.scope().text(source).strip() if source else (self.contact or "")
        if not contact:
            self.leave(
                node.id,
                "onError",
                outputs={"receive.message": "", "receive.error": "no contact to receive from"},
            )
            return
        self.pause(
            Wait(
                kind="inbound",
                node=node.id,
                deadline=self.now + node.settings["timeout"],
                events=frozenset(node.settings["events"]),
                contact=contact.lstrip("+"),
            )
        )

    def _enter_branch(self, node: Node) -> None:
        scope = self.scope()
        for branch in node.settings["conditions"]:
            try:
                matched = evaluate(branch["when"], scope)
            except UnresolvedVariable:
                matched = False
            if matched:
                self.leave(node.id, branch["name"], outputs={"branch.output": branch["name"]})
                return
        self.leave(node.id, NONE_OF_THE_ABOVE, outputs={"branch.output": NONE_OF_THE_ABOVE})

    def _enter_set(self, node: Node) -> None:
        scope = self.scope()
        values = {name: scope.value(value) for name, value in node.settings["set"].items()}
        self.variables.update(values)
        self.leave(node.id, "onSuccess", changed=values)

    def _enter_http(self, node: Node) -> None:
        scope = self.scope()
        body = node.settings.get("body")
        request = {
            "method": node.settings["method"],
            "url": scope.text(node.settings["url"]).strip(),
            "headers": {k: scope.text(v) for k, v in node.settings["headers"].items()},
            "body": None if body is None else scope.value(body),
            "timeout": node.settings["timeout"],
        }
        self.pause(Wait(kind="http", node=node.id, deadline=self.now, request=request))

    def _enter_delay(self, node: Node) -> None:
        seconds = node.settings["seconds"]
        if seconds <= 0:
            self.leave(node.id, "onSuccess", outputs={"delay.waitTime": 0})
            return
        self.pause(Wait(kind="timer", node=node.id, deadline=self.now + seconds))

    def _enter_end(self, node: Node) -> None:
        self.history.append(HistoryEntry(node.id, "end", {}, self.now))
        self.steps += 1
        self.end({**node.settings["result"], "node": node.id, "outcome": "end"})

    def _enter_start(self, node: Node) -> None:  # pragma: no cover - edges never reach it
        self.leave(node.id, "onStart")

    # Events on a waiting node.

    def sent(self, node: Node, result: SendResult) -> None:
        response: dict[str, Any] = {"code": result.code, "description": result.description}
        if result.transid is not None:
            response["transid"] = result.transid
        if result.policy or result.transid is None:
            if result.field:
                response["field"] = result.field
            outputs = {
                "send.deliveryStatusCode": result.code,
                "send.deliveryStatusDescription": result.description,
                "send.sentDateTime": result.sent_at or "",
                "send.gatewayTid": result.transid or "",
                "send.response_data": [response],
            }
            self.leave(node.id, "onPolicyFail" if result.policy else "onError", outputs=outputs)
            return
        if result.wa_id and not self.contact:
            self.contact = result.wa_id
        outputs = {
            "send.deliveryStatusCode": result.code,
            "send.deliveryStatusDescription": result.description,
            "send.sentDateTime": result.sent_at or "",
            "send.gatewayTid": result.transid,
            "send.response_data": [response],
        }
        wait_for = node.settings["wait_for"]
        if wait_for == WAIT_NONE:
            self.leave(node.id, SUCCESS_EDGE[WAIT_NONE], outputs=outputs)
            return
        self.outputs.setdefault(node.id, {}).update(outputs)
        self.pause(
            Wait(
                kind="message",
                node=node.id,
                deadline=self.now + node.settings["timeout"],
                transid=result.transid,
                target=wait_for,
            )
        )

    def message_update(self, node: Node, wait: Wait, update: MessageUpdate) -> None:
        outputs = {
            "send.deliveryStatusCode": update.code,
            "send.deliveryStatusDescription": update.description,
        }
        if update.status == "failed":
            # A failed DR from WhatsApp is onDeliveryReportFail when the node waits for DRs
            # (an identity change comes back so, as 7862); a refusal before sending is
            # onPolicyFail when a policy decided it, onError otherwise.
            if update.source == "webhook" and "onDeliveryReportFail" in node.edges:
                outcome = "onDeliveryReportFail"
            elif update.code in POLICY_CODES:
                outcome = "onPolicyFail"
            else:
                outcome = "onError"
            self.leave(node.id, outcome, outputs=outputs)
            return
        assert wait.target is not None
        if _RANK.get(update.status, 0) >= _TARGET_RANK[wait.target]:
            self.leave(node.id, SUCCESS_EDGE[wait.target], outputs=outputs)
            return
        # Not there yet (sent, while waiting for the read): keep the latest code and wait on.
        self.outputs.setdefault(node.id, {}).update(outputs)

    def received(self, node: Node, inbound: Inbound) -> None:
        event = inbound.event
        session = whatsapp_variables(event)
        self.session = dict(session)
        outputs: dict[str, Any] = {
            "receive.message": as_text(event.get("message", "")),
            "receive.channel": "whatsapp",
            "receive.payload": payload_of(event),
            "receive.attachment": as_text(event.get("attachments", "")),
        }
        outputs.update({f"whatsapp.{k}": v for k, v in session.items()})
        self.leave(node.id, "whatsapp.mo", outputs=outputs)

    def timed_out(self, node: Node, wait: Wait) -> None:
        if wait.kind == "timer":
            self.leave(node.id, "onSuccess", outputs={"delay.waitTime": node.settings["seconds"]})
        elif wait.kind in ("message", "inbound"):
            self.leave(node.id, "onTimeout")

    def http_done(self, node: Node, result: HttpResult) -> None:
        outputs = {
            "https.statusCode": result.status_code if result.status_code is not None else "",
            "https.statusText": result.status_text or (result.error or ""),
            "https.responseBody": result.body,
            "https.responseHeaders": dict(result.headers),
        }
        if result.timed_out:
            outcome = "onTimeout"
        elif result.error is not None or result.status_code is None:
            outcome = "onError"
        else:
            outcome = "onSuccess" if 200 <= result.status_code < 400 else "onError"
        self.leave(node.id, outcome, outputs=outputs)


def _error_outputs(node: Node, *, codes_text: str, description: str) -> dict[str, Any]:
    if node.type == "whatsapp":
        return {
            "send.deliveryStatusCode": codes_text,
            "send.deliveryStatusDescription": description,
            "send.response_data": [{"code": codes_text, "description": description}],
        }
    return {"error": description}


def dr_of(status: str) -> codes.DrCode | None:
    """The DR code reported for a message status (`sent` reads as Submitted)."""
    return _DR_BY_STATUS.get(status)
