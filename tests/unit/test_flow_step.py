"""The pure flow step: (run state, event) → (new state, intents, history), node by node."""

from __future__ import annotations

from typing import Any

from wanode.flows import (
    Advance,
    Begin,
    Flow,
    HttpResult,
    Inbound,
    MessageUpdate,
    RunState,
    SendIntent,
    SendResult,
    Tapped,
    Timeout,
    advance,
    begin,
    parse_flow,
    state_from_json,
    state_to_json,
)
from wanode.flows.step import MAX_NODES_PER_STEP

WA = "4915112340001"
T0 = 1_000_000.0


def flow(nodes: dict[str, Any], variables: dict[str, Any] | None = None) -> Flow:
    return parse_flow({"id": "f", "variables": variables or {"phone": WA}, "nodes": nodes})


def start(to: str) -> dict[str, Any]:
    return {"type": "start", "on": {"onStart": to}}


def send(wait_for: str = "none", **extra: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": "whatsapp",
        "destination": "$(phone)",
        "wa": {"type": "text", "text": {"body": "Hi $(phone)"}},
        "wait_for": wait_for,
    }
    if wait_for != "none":
        node["timeout"] = 60
    node.update(extra)
    return node


SUCCESS = {
    "none": "onSuccess",
    "submit": "onSubmit",
    "delivery": "onDeliveryReportSuccess",
    "read": "onRead",
}


def send_flow(wait_for: str = "none", **on: str | None) -> Flow:
    edges: dict[str, str | None] = {SUCCESS[wait_for]: "n3", **on}
    return flow({"n1": start("n2"), "n2": send(wait_for, on=edges), "n3": {"type": "end"}})


def queued(transid: str = "tid-1") -> SendResult:
    return SendResult("n2", transid=transid, wa_id=WA, sent_at="2024-01-01T00:00:00.000Z")


def update(status: str, code: str, *, source: str = "webhook", transid: str = "tid-1") -> Any:
    return MessageUpdate(transid, status, code, status.capitalize(), source, T0 + 1)


def outcomes(step: Advance) -> list[tuple[str, str]]:
    return [(h.node, h.outcome) for h in step.history]


def sent(f: Flow, result: SendResult | None = None) -> Advance:
    """A run of `f` after its first send was queued (or refused with `result`)."""
    first = begin(f, Begin(), now=T0)
    [intent] = first.intents
    assert isinstance(intent, SendIntent) and intent.node == "n2"
    return advance(f, first.state, result or queued(), now=T0)


# Start, send, end.


def test_begin_resolves_the_send_and_waits_for_its_result() -> None:
    f = send_flow()
    step = begin(f, Begin(variables={"phone": "4915100000000"}), now=T0)
    assert outcomes(step) == [("n1", "onStart")]
    assert step.history[0].variables == {"phone": "4915100000000"}
    [intent] = step.intents
    assert isinstance(intent, SendIntent)
    assert intent.request["destination"] == "4915100000000"
    assert intent.request["wa"] == {"type": "text", "text": {"body": "Hi 4915100000000"}}
    assert step.state.status == "waiting" and step.state.wait is not None
    assert step.state.wait.kind == "send"


def test_wait_for_none_leaves_on_success_with_the_outputs() -> None:
    step = sent(send_flow())
    assert outcomes(step) == [("n2", "onSuccess"), ("n3", "end")]
    assert step.state.status == "completed"
    assert step.state.result == {
        "code": 101,
        "description": "Flow completed",
        "node": "n3",
        "outcome": "end",
    }
    out = step.state.outputs["n2"]
    assert out["send.gatewayTid"] == "tid-1"
    assert out["send.deliveryStatusCode"] == "1001"
    assert out["send.sentDateTime"] == "2024-01-01T00:00:00.000Z"
    assert out["send.response_data"] == [
        {"code": "1001", "description": "Queued", "transid": "tid-1"}
    ]
    assert step.state.contact == WA


def test_each_wait_for_leaves_on_its_success_edge() -> None:
    reached = {
        "submit": ("sent", "7501"),
        "delivery": ("delivered", "7500"),
        "read": ("read", "7502"),
    }
    for wait_for, (status, code) in reached.items():
        f = send_flow(wait_for)
        waiting = sent(f)
        wait = waiting.state.wait
        assert wait is not None and wait.kind == "message" and wait.target == wait_for
        assert wait.deadline == T0 + 60 and wait.transid == "tid-1"
        done = advance(f, waiting.state, update(status, code), now=T0 + 1)
        assert outcomes(done) == [("n2", SUCCESS[wait_for]), ("n3", "end")], wait_for
        assert done.state.outputs["n2"]["send.deliveryStatusCode"] == code


def test_a_status_short_of_the_target_keeps_waiting_with_the_latest_code() -> None:
    f = send_flow("read")
    waiting = sent(f)
    delivered = advance(f, waiting.state, update("delivered", "7500"), now=T0 + 1)
    assert delivered.history == () and delivered.state.status == "waiting"
    assert delivered.state.outputs["n2"]["send.deliveryStatusCode"] == "7500"
    read = advance(f, delivered.state, update("read", "7502"), now=T0 + 2)
    assert outcomes(read)[0] == ("n2", "onRead")


def test_a_failed_delivery_report_takes_on_delivery_report_fail() -> None:
    f = send_flow("delivery", onDeliveryReportFail="n3")
    waiting = sent(f)
    failed = advance(f, waiting.state, update("failed", "7862"), now=T0 + 1)
    assert outcomes(failed)[0] == ("n2", "onDeliveryReportFail")
    assert failed.state.outputs["n2"]["send.deliveryStatusCode"] == "7862"


def test_policy_and_gateway_failures_while_waiting() -> None:
    f = send_flow("read", onPolicyFail="n3", onError="n3", onDeliveryReportFail="n3")
    expired = advance(f, sent(f).state, update("failed", "7705", source="policy"), now=T0 + 1)
    assert outcomes(expired)[0] == ("n2", "onPolicyFail")
    window = advance(f, sent(f).state, update("failed", "7710", source="policy"), now=T0 + 1)
    assert outcomes(window)[0] == ("n2", "onPolicyFail")
    refused = advance(f, sent(f).state, update("failed", "7722", source="gateway"), now=T0 + 1)
    assert outcomes(refused)[0] == ("n2", "onError")
    # Any failed DR from WhatsApp is onDeliveryReportFail when the node waits for DRs.
    dr = advance(f, sent(f).state, update("failed", "7710", source="webhook"), now=T0 + 1)
    assert outcomes(dr)[0] == ("n2", "onDeliveryReportFail")


def test_without_a_delivery_report_fail_edge_failures_are_policy_or_error() -> None:
    f = send_flow("submit")
    hash_mismatch = advance(f, sent(f).state, update("failed", "7862"), now=T0 + 1)
    assert outcomes(hash_mismatch) == [("n2", "onPolicyFail")]
    generic = advance(f, sent(f).state, update("failed", "7713"), now=T0 + 1)
    assert outcomes(generic) == [("n2", "onError")]


def test_a_refused_send_takes_on_error_or_on_policy_fail() -> None:
    f = send_flow("read")
    invalid = SendResult("n2", code="7004", description="wa.text.body: too long", field="wa")
    step = sent(f, invalid)
    assert outcomes(step) == [("n2", "onError")]
    out = step.state.outputs["n2"]
    assert out["send.deliveryStatusCode"] == "7004"
    assert out["send.response_data"] == [
        {"code": "7004", "description": "wa.text.body: too long", "field": "wa"}
    ]
    policy = SendResult("n2", transid="tid-9", code="7710", description="Re-engagement message")
    step = sent(f, SendResult(**{**policy.__dict__, "policy": True}))
    assert outcomes(step) == [("n2", "onPolicyFail")]
    assert step.state.outputs["n2"]["send.gatewayTid"] == "tid-9"


def test_an_unconnected_red_or_amber_outcome_ends_with_102_naming_it() -> None:
    f = send_flow("read")
    step = advance(f, sent(f).state, Timeout(T0 + 60), now=T0 + 60)
    assert outcomes(step) == [("n2", "onTimeout")]
    assert step.state.status == "completed"
    assert step.state.result is not None
    assert step.state.result["code"] == 102
    assert step.state.result["outcome"] == "onTimeout"
    assert step.state.result["node"] == "n2"
    assert "onTimeout" in step.state.result["description"]
    error = sent(f, SendResult("n2", code="7004", description="bad", field="wa"))
    assert error.state.result is not None
    assert (error.state.result["code"], error.state.result["outcome"]) == (102, "onError")


def test_an_unconnected_green_outcome_ends_with_101() -> None:
    f = flow(
        {
            "n1": start("n2"),
            "n2": {
                "type": "branch",
                "conditions": [{"name": "x", "when": {"left": "1", "op": "equals", "right": "2"}}],
                "on": {"x": "n3"},
            },
            "n3": {"type": "end"},
        }
    )
    step = begin(f, Begin(), now=T0)
    assert outcomes(step) == [("n1", "onStart"), ("n2", "None of the above")]
    assert step.state.result is not None
    assert step.state.result["code"] == 101
    assert step.state.result["outcome"] == "None of the above"


def test_timeout_before_the_deadline_changes_nothing() -> None:
    f = send_flow("read")
    waiting = sent(f)
    early = advance(f, waiting.state, Timeout(T0 + 59.9), now=T0 + 59.9)
    assert early.state == waiting.state and early.history == () and early.intents == ()


def test_events_the_run_does_not_wait_for_change_nothing() -> None:
    f = send_flow("read")
    waiting = sent(f)
    other = advance(f, waiting.state, update("read", "7502", transid="tid-other"), now=T0 + 1)
    assert other.state == waiting.state and other.history == ()
    inbound = advance(f, waiting.state, Inbound({"event": "MO", "message": "hi"}), now=T0 + 1)
    assert inbound.state == waiting.state
    http = advance(f, waiting.state, HttpResult("n2", status_code=200), now=T0 + 1)
    assert http.state == waiting.state
    resent = advance(f, waiting.state, queued("tid-2"), now=T0 + 1)
    assert resent.state == waiting.state


def test_a_late_event_after_the_run_moved_on_changes_nothing() -> None:
    f = send_flow("read")
    done = advance(f, sent(f).state, update("read", "7502"), now=T0 + 1)
    assert done.state.status == "completed"
    for event in (update("read", "7502"), Timeout(T0 + 100), queued()):
        late = advance(f, done.state, event, now=T0 + 100)
        assert late.state == done.state and late.history == ()


def test_tapped_sets_send_response_interactive_whatever_the_run_does() -> None:
    f = send_flow()
    done = sent(f)
    tap = {"event": "reply", "replyButtonIdentifier": "yes", "replyButtonTitle": "Yes"}
    tapped = advance(f, done.state, Tapped("n2", tap), now=T0 + 5)
    assert tapped.state.outputs["n2"]["send.response_interactive"] == tap
    assert tapped.state.status == "completed" and tapped.history == ()
    unknown = advance(f, done.state, Tapped("n9", tap), now=T0 + 5)
    assert unknown.state == done.state


# Receive.


def receive_flow(**settings: Any) -> Flow:
    node = {"type": "receive", "timeout": 30, "on": {"whatsapp.mo": "n3"}, **settings}
    return flow({"n1": start("n2"), "n2": node, "n3": {"type": "end"}})


def test_receive_waits_for_the_contact_and_takes_the_event() -> None:
    f = receive_flow(events=["message", "reply"])
    waiting = begin(f, Begin(contact="+" + WA), now=T0)
    wait = waiting.state.wait
    assert wait is not None
    assert (wait.kind, wait.contact, wait.deadline) == ("inbound", WA, T0 + 30)
    assert wait.events == frozenset({"message", "reply"})
    postback = Inbound({"event": "postback", "waid": WA, "buttonPayload": "X"})
    assert advance(f, waiting.state, postback, now=T0 + 1).state == waiting.state
    event = {
        "event": "reply",
        "waid": WA,
        "replyButtonIdentifier": "b2",
        "replyButtonTitle": "Two",
        "identityKeyHash": "h",
    }
    done = advance(f, waiting.state, Inbound(event), now=T0 + 1)
    assert outcomes(done) == [("n2", "whatsapp.mo"), ("n3", "end")]
    out = done.state.outputs["n2"]
    assert out["receive.payload"] == "b2"
    assert out["whatsapp.replyButtonIdentifier"] == "b2"
    assert out["whatsapp.identityHash"] == "h"
    assert done.state.session["waId"] == WA


def test_receive_times_out_and_a_later_reply_does_not_resume() -> None:
    f = receive_flow()
    waiting = begin(f, Begin(contact=WA), now=T0)
    timed_out = advance(f, waiting.state, Timeout(T0 + 30), now=T0 + 30)
    assert outcomes(timed_out) == [("n2", "onTimeout")]
    late = advance(f, timed_out.state, Inbound({"event": "MO", "message": "hi"}), now=T0 + 31)
    assert late.state == timed_out.state and late.history == ()


def test_a_reply_received_after_the_deadline_times_the_wait_out() -> None:
    f = receive_flow()
    waiting = begin(f, Begin(contact=WA), now=T0)
    reply = Inbound({"event": "MO", "waid": WA, "message": "hi"}, at=T0 + 31)
    late = advance(f, waiting.state, reply, now=T0 + 31)
    assert outcomes(late) == [("n2", "onTimeout")]
    assert "n2" not in late.state.outputs
    in_time = Inbound({"event": "MO", "waid": WA, "message": "hi"}, at=T0 + 29)
    assert outcomes(advance(f, waiting.state, in_time, now=T0 + 31))[0] == ("n2", "whatsapp.mo")


def test_receive_without_a_contact_is_an_error() -> None:
    step = begin(receive_flow(), Begin(), now=T0)
    assert outcomes(step) == [("n1", "onStart"), ("n2", "onError")]
    assert step.state.result is not None and step.state.result["code"] == 102


def test_receive_from_a_variable() -> None:
    f = receive_flow(**{"from": "$(phone)"})
    wait = begin(f, Begin(), now=T0).state.wait
    assert wait is not None and wait.contact == WA


# Branch, set, delay, http, end.


def test_branch_takes_the_first_matching_condition_in_order() -> None:
    nodes = {
        "n1": start("n2"),
        "n2": {
            "type": "branch",
            "conditions": [
                {"name": "big", "when": {"left": "$(n)", "op": "gt", "right": 100}},
                {"name": "positive", "when": {"left": "$(n)", "op": "gt", "right": 0}},
                {"name": "also", "when": {"left": "$(n)", "op": "gt", "right": 0}},
            ],
            "on": {"big": "n3", "positive": "n3", "also": "n3", "None of the above": "n4"},
        },
        "n3": {"type": "end"},
        "n4": {"type": "end", "result": {"code": 200, "description": "none"}},
    }
    f = flow(nodes, {"n": 0})
    for n, expected in (
        (500, "big"),
        (5, "positive"),
        (-1, "None of the above"),
        ("x", "None of the above"),
    ):
        step = begin(f, Begin(variables={"n": n}), now=T0)
        assert outcomes(step)[1] == ("n2", expected), n
        assert step.state.outputs["n2"]["branch.output"] == expected
    none = begin(f, Begin(variables={"n": -1}), now=T0)
    assert none.state.result is not None and none.state.result["code"] == 200


def test_set_changes_variables_keeping_types() -> None:
    nodes = {
        "n1": start("n2"),
        "n2": {
            "type": "set",
            "set": {"copy": "$(n)", "label": "n is $(n)", "fresh": [1, "$(n)"]},
            "on": {"onSuccess": "n3"},
        },
        "n3": {"type": "end"},
    }
    step = begin(flow(nodes, {"n": 7}), Begin(), now=T0)
    assert step.state.variables == {"n": 7, "copy": 7, "label": "n is 7", "fresh": [1, 7]}
    assert step.history[1].variables == {"copy": 7, "label": "n is 7", "fresh": [1, 7]}


def test_an_unresolved_variable_ends_the_run_or_takes_on_error() -> None:
    nodes = {
        "n1": start("n2"),
        "n2": {"type": "set", "set": {"x": "$(n3.send.gatewayTid)"}, "on": {"onSuccess": "n3"}},
        "n3": send(on={"onSuccess": "n4"}),
        "n4": {"type": "end"},
    }
    step = begin(flow(nodes), Begin(), now=T0)
    assert step.state.status == "failed"
    assert step.state.result is not None and "has not run yet" in step.state.result["description"]
    nodes = {
        "n1": start("n2"),
        "n2": send(on={"onSuccess": "n3", "onError": "n4"}, correlation_id="$(n3.branch.output)"),
        "n3": {
            "type": "branch",
            "conditions": [{"name": "a", "when": {"left": "1", "op": "equals", "right": "1"}}],
            "on": {"a": "n2"},
        },
        "n4": {"type": "end"},
    }
    step = begin(flow(nodes), Begin(), now=T0)
    assert outcomes(step) == [("n1", "onStart"), ("n2", "onError"), ("n4", "end")]
    assert step.state.outputs["n2"]["send.deliveryStatusCode"] == "7004"


def test_delay_waits_for_its_timer() -> None:
    nodes = {"n1": start("n2"), "n2": {"type": "delay", "seconds": 5, "on": {"onSuccess": "n3"}}}
    nodes["n3"] = {"type": "end"}
    f = flow(nodes)
    waiting = begin(f, Begin(), now=T0)
    assert waiting.state.wait is not None
    assert (waiting.state.wait.kind, waiting.state.wait.deadline) == ("timer", T0 + 5)
    assert advance(f, waiting.state, Timeout(T0 + 4), now=T0 + 4).history == ()
    done = advance(f, waiting.state, Timeout(T0 + 5), now=T0 + 5)
    assert outcomes(done) == [("n2", "onSuccess"), ("n3", "end")]
    assert done.state.outputs["n2"]["delay.waitTime"] == 5


def test_zero_delay_passes_at_once() -> None:
    nodes = {"n1": start("n2"), "n2": {"type": "delay", "seconds": 0, "on": {"onSuccess": "n3"}}}
    nodes["n3"] = {"type": "end"}
    assert outcomes(begin(flow(nodes), Begin(), now=T0))[1] == ("n2", "onSuccess")


def test_http_asks_for_the_request_and_maps_the_result() -> None:
    nodes = {
        "n1": start("n2"),
        "n2": {
            "type": "http",
            "method": "post",
            "url": "https://example.com/$(phone)",
            "headers": {"X-Id": "$(phone)"},
            "body": {"to": "$(phone)"},
            "timeout": 2,
            "on": {"onSuccess": "n3", "onError": "n3", "onTimeout": "n3"},
        },
        "n3": {"type": "end"},
    }
    f = flow(nodes)
    waiting = begin(f, Begin(), now=T0)
    wait = waiting.state.wait
    assert wait is not None and wait.kind == "http" and wait.request is not None
    assert dict(wait.request) == {
        "method": "POST",
        "url": f"https://example.com/{WA}",
        "headers": {"X-Id": WA},
        "body": {"to": WA},
        "timeout": 2.0,
    }
    ok = advance(
        f,
        waiting.state,
        HttpResult("n2", 201, "Created", '{"ok":true}', {"content-type": "application/json"}),
        now=T0 + 1,
    )
    assert outcomes(ok)[0] == ("n2", "onSuccess")
    out = ok.state.outputs["n2"]
    assert (out["https.statusCode"], out["https.statusText"]) == (201, "Created")
    assert out["https.responseBody"] == '{"ok":true}'
    assert out["https.responseHeaders"] == {"content-type": "application/json"}
    server_error = advance(f, waiting.state, HttpResult("n2", 500, "Error"), now=T0 + 1)
    assert outcomes(server_error)[0] == ("n2", "onError")
    refused = advance(f, waiting.state, HttpResult("n2", error="ConnectError"), now=T0 + 1)
    assert outcomes(refused)[0] == ("n2", "onError")
    slow = advance(f, waiting.state, HttpResult("n2", error="timeout", timed_out=True), now=T0 + 1)
    assert outcomes(slow)[0] == ("n2", "onTimeout")
    # A timer firing while the request is in flight changes nothing.
    assert advance(f, waiting.state, Timeout(T0 + 100), now=T0 + 100).history == ()


def test_end_result_is_the_nodes() -> None:
    nodes = {"n1": start("n2"), "n2": {"type": "end", "result": {"code": 7, "description": "ok"}}}
    step = begin(flow(nodes), Begin(), now=T0)
    assert step.state.result == {"code": 7, "description": "ok", "node": "n2", "outcome": "end"}


def test_a_loop_without_a_wait_is_stopped() -> None:
    nodes = {
        "n1": start("n2"),
        "n2": {"type": "set", "set": {"i": "x"}, "on": {"onSuccess": "n3"}},
        "n3": {
            "type": "branch",
            "conditions": [
                {"name": "again", "when": {"left": "$(i)", "op": "equals", "right": "x"}}
            ],
            "on": {"again": "n2"},
        },
    }
    step = begin(flow(nodes, {"i": ""}), Begin(), now=T0)
    assert step.state.status == "failed"
    assert step.state.result is not None
    assert (step.state.result["code"], step.state.result["outcome"]) == (102, "loop")
    assert len(step.history) == MAX_NODES_PER_STEP + 1


def test_a_loop_with_a_wait_is_fine() -> None:
    nodes = {
        "n1": start("n2"),
        "n2": {"type": "delay", "seconds": 1, "on": {"onSuccess": "n3"}},
        "n3": {"type": "set", "set": {"i": "x"}, "on": {"onSuccess": "n2"}},
    }
    f = flow(nodes, {"i": ""})
    step = begin(f, Begin(), now=T0)
    for i in range(1, 2000):
        step = advance(f, step.state, Timeout(T0 + i), now=T0 + i)
    assert step.state.status == "waiting" and step.state.steps == 1 + 2 * 1999


# Triggered by WhatsApp, and state round trips.


def test_begin_from_a_whatsapp_event_sets_start_outputs_and_session() -> None:
    nodes = {
        "n1": start("n2"),
        "n2": send(destination="$(whatsapp.whatsappId)", on={"onSuccess": "n3"}),
        "n3": {"type": "end"},
    }
    f = flow(nodes, {})
    event = {"event": "MO", "waid": WA, "message": "BOOK", "username": "Ana", "tid": "wamid.1"}
    step = begin(f, Begin(event=event), now=T0)
    assert step.state.contact == WA
    assert step.state.outputs["n1"]["whatsapp.message"] == "BOOK"
    assert step.state.outputs["n1"]["whatsapp.username"] == "Ana"
    [intent] = step.intents
    assert intent.request["destination"] == WA


def test_state_json_round_trip() -> None:
    f = receive_flow()
    state = begin(f, Begin(contact=WA, variables={"phone": "1"}), now=T0).state
    again = state_from_json(state_to_json(state))
    assert again == state
    assert isinstance(again, RunState)
