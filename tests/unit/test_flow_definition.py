"""Flow definitions: what `parse_flow` accepts, and every class of problem it reports, each with
the node id and the field, all at once."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from wanode.flows import InvalidFlow, Problem, parse_flow
from wanode.flows.model import WhatsAppTrigger


def _send(**settings: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": "whatsapp",
        "destination": "$(phone)",
        "wa": {"type": "text", "text": {"body": "Hello"}},
        "on": {"onSuccess": "n3"},
    }
    node.update(settings)
    return node


def _flow(**nodes: Any) -> dict[str, Any]:
    """A valid start → send → end flow, with `nodes` replacing or adding nodes."""
    doc: dict[str, Any] = {
        "id": "f",
        "variables": {"phone": "4915112340001"},
        "nodes": {
            "n1": {"type": "start", "on": {"onStart": "n2"}},
            "n2": _send(),
            "n3": {"type": "end"},
        },
    }
    doc["nodes"].update(nodes)
    return doc


def _problems(doc: Any) -> list[Problem]:
    with pytest.raises(InvalidFlow) as caught:
        parse_flow(doc)
    return caught.value.problems


def _one(doc: Any) -> Problem:
    problems = _problems(doc)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_valid_flow_parses_with_defaults() -> None:
    flow = parse_flow(_flow(), version=3)
    assert (flow.id, flow.name, flow.version, flow.start) == ("f", "f", 3, "n1")
    assert flow.api_trigger is True and flow.whatsapp_trigger is None
    send = flow.nodes["n2"]
    assert send.settings["destination_type"] == "waid"
    assert send.settings["wait_for"] == "none"
    assert dict(send.edges) == {"onSuccess": "n3", "onError": None, "onPolicyFail": None}
    assert flow.nodes["n3"].settings["result"] == {"code": 101, "description": "Flow completed"}


def test_edges_per_wait_for() -> None:
    edges = {
        "submit": {"onSubmit", "onError", "onPolicyFail", "onTimeout"},
        "delivery": {
            "onDeliveryReportSuccess",
            "onError",
            "onPolicyFail",
            "onTimeout",
            "onDeliveryReportFail",
        },
        "read": {"onRead", "onError", "onPolicyFail", "onTimeout", "onDeliveryReportFail"},
    }
    success = {"submit": "onSubmit", "delivery": "onDeliveryReportSuccess", "read": "onRead"}
    for wait_for, outcomes in edges.items():
        doc = _flow(n2=_send(wait_for=wait_for, timeout=5, on={success[wait_for]: "n3"}))
        node = parse_flow(doc).nodes["n2"]
        assert set(node.edges) == outcomes, wait_for
        assert node.settings["timeout"] == 5.0


def test_unknown_node_type() -> None:
    problem = _one(_flow(n3={"type": "sms"}))
    assert (problem.node, problem.field) == ("n3", "type")
    assert "unknown node type 'sms'" in problem.message


def test_edge_to_a_missing_node() -> None:
    problem = _one(_flow(n2=_send(on={"onSuccess": "n3", "onError": "n9"})))
    assert (problem.node, problem.field) == ("n2", "on.onError")
    assert "missing node 'n9'" in problem.message


def test_edge_back_to_the_start_node() -> None:
    problem = _one(_flow(n2=_send(on={"onSuccess": "n1"})))
    assert (problem.node, problem.field) == ("n2", "on.onSuccess")
    assert "start node" in problem.message


def test_an_outcome_the_node_cannot_take() -> None:
    problem = _one(_flow(n2=_send(on={"onSuccess": "n3", "onRead": "n3"})))
    assert (problem.node, problem.field) == ("n2", "on.onRead")
    assert "'onRead' is not an outcome of this node" in problem.message
    assert "onSuccess" in problem.message


def test_onsuccess_is_not_an_outcome_when_waiting_for_the_read() -> None:
    problems = _problems(_flow(n2=_send(wait_for="read", on={"onSuccess": "n3"})))
    fields = {(p.node, p.field) for p in problems}
    assert fields == {("n2", "on.onSuccess"), ("n2", "on.onRead")}


def test_a_required_outcome_left_unconnected() -> None:
    problem = _one(_flow(n2=_send(on={"onError": "n3"})))
    assert (problem.node, problem.field) == ("n2", "on.onSuccess")
    assert "must be connected" in problem.message


def test_end_and_null_mean_unconnected() -> None:
    flow = parse_flow(
        _flow(n2=_send(on={"onSuccess": "n3", "onError": "end", "onPolicyFail": None}))
    )
    assert flow.nodes["n2"].edges["onError"] is None
    assert flow.nodes["n2"].edges["onPolicyFail"] is None


def test_unknown_custom_variable() -> None:
    doc = _flow(n2=_send(destination="$(mobile)"))
    problem = _one(doc)
    assert (problem.node, problem.field) == ("n2", "destination")
    assert "$(mobile) is not a variable of this flow" in problem.message


def test_a_variable_set_by_a_set_node_is_known() -> None:
    doc = _flow(
        n1={"type": "start", "on": {"onStart": "n4"}},
        n4={"type": "set", "set": {"greeting": "Hi"}, "on": {"onSuccess": "n2"}},
        n2=_send(wa={"type": "text", "text": {"body": "$(greeting)"}}),
    )
    assert parse_flow(doc).nodes["n4"].settings["set"] == {"greeting": "Hi"}


def test_reference_to_a_missing_node() -> None:
    doc = _flow(n2=_send(correlation_id="$(n7.send.gatewayTid)"))
    problem = _one(doc)
    assert (problem.node, problem.field) == ("n2", "correlation_id")
    assert "missing node 'n7'" in problem.message


def test_reference_to_an_output_the_node_does_not_produce() -> None:
    doc = _flow(n2=_send(callback_data="$(n1.receive.message)"))
    problem = _one(doc)
    assert (problem.node, problem.field) == ("n2", "callback_data")
    assert "node n1 (start) outputs" in problem.message


def test_whatsapp_variables_are_checked_and_aliases_accepted() -> None:
    assert parse_flow(_flow(n2=_send(destination="$(whatsapp.WhatsAppID)")))
    assert parse_flow(_flow(n2=_send(destination="$(n1.whatsapp.waid)")))
    problem = _one(_flow(n2=_send(destination="$(whatsapp.phone)")))
    assert (problem.node, problem.field) == ("n2", "destination")
    assert "not a WhatsApp variable" in problem.message


def test_references_inside_branch_and_trigger_conditions_are_checked() -> None:
    doc = _flow(
        n1={
            "type": "start",
            "triggers": {
                "whatsapp": {"when": {"left": "$(keyword)", "op": "equals", "right": "x"}}
            },
            "on": {"onStart": "n4"},
        },
        n4={
            "type": "branch",
            "conditions": [
                {
                    "name": "a",
                    "when": {"left": "$(n1.whatsapp.message)", "op": "equals", "right": 1},
                },
                {
                    "name": "b",
                    "when": {"any": [{"left": "$(n9.branch.output)", "op": "equals", "right": 1}]},
                },
            ],
            "on": {"a": "n2", "b": "n2"},
        },
    )
    problems = _problems(doc)
    assert {(p.node, p.field) for p in problems} == {
        ("n1", "triggers.whatsapp.when"),
        ("n4", "conditions[1].when"),
    }


@pytest.mark.parametrize("name", ["message", "Payload", "transid", "whatsapp"])
def test_reserved_variable_names(name: str) -> None:
    doc = _flow()
    doc["variables"][name] = ""
    problem = _one(doc)
    assert (problem.node, problem.field) == (None, f"variables.{name}")
    assert "reserved" in problem.message


def test_a_set_node_may_not_set_a_reserved_name() -> None:
    doc = _flow(
        n1={"type": "start", "on": {"onStart": "n4"}},
        n4={"type": "set", "set": {"destination": "x"}, "on": {"onSuccess": "n2"}},
    )
    problem = _one(doc)
    assert (problem.node, problem.field) == ("n4", "set.destination")


def test_notify_url_leading_space_is_an_error_trailing_space_is_trimmed() -> None:
    flow = parse_flow(_flow(n2=_send(notify_url="https://example.com/dr   ")))
    assert flow.nodes["n2"].settings["notify_url"] == "https://example.com/dr"
    for url in (" https://example.com/dr", " $(phone)", "not a url", "ftp://example.com/x"):
        problem = _one(_flow(n2=_send(notify_url=url)))
        assert (problem.node, problem.field) == ("n2", "notify_url"), url
        assert problem.message == "Invalid URL, field accepts only valid URL or variable"
    variable = parse_flow(_flow(n2=_send(notify_url="$(phone) ")))
    assert variable.nodes["n2"].settings["notify_url"] == "$(phone)"


@pytest.mark.parametrize(
    ("expiry", "reason"),
    [(0, "positive"), (31 * 86400, "30 days"), ("next week", "ISO 8601"), (True, "seconds")],
)
def test_invalid_expiry(expiry: Any, reason: str) -> None:
    problem = _one(_flow(n2=_send(expiry=expiry)))
    assert (problem.node, problem.field) == ("n2", "expiry")
    assert reason in problem.message


def test_valid_expiry_forms() -> None:
    for expiry in (60, "3600", "2030-01-01T00:00:00Z", "$(phone)"):
        assert parse_flow(_flow(n2=_send(expiry=expiry))).nodes["n2"].settings["expiry"] == expiry


def test_http_timeout_is_at_most_20_seconds() -> None:
    http = {"type": "http", "url": "https://example.com", "on": {"onSuccess": "n3"}}
    doc = _flow(n1={"type": "start", "on": {"onStart": "n4"}}, n4={**http, "timeout": 21})
    del doc["nodes"]["n2"]
    problem = _one(doc)
    assert (problem.node, problem.field) == ("n4", "timeout")
    assert "20" in problem.message
    doc["nodes"]["n4"]["timeout"] = 20
    assert parse_flow(doc).nodes["n4"].settings["timeout"] == 20.0


def test_send_settings_problems() -> None:
    problems = _problems(
        _flow(
            n2=_send(
                destination="",
                wa=None,
                destination_type="email",
                wait_for="forever",
                colour="red",
                correlation_id=5,
            )
        )
    )
    fields = {p.field for p in problems}
    assert fields == {
        "destination",
        "wa",
        "destination_type",
        "wait_for",
        "colour",
        "correlation_id",
    }
    assert {p.node for p in problems} == {"n2"}
    [missing] = [p for p in problems if p.field == "destination"]
    assert missing.code == "7003"


def test_timeout_needs_a_wait_and_is_bounded() -> None:
    assert _one(_flow(n2=_send(timeout=5))).field == "timeout"
    assert _one(_flow(n2=_send(wait_for="read", timeout=0, on={"onRead": "n3"}))).field == (
        "timeout"
    )


def test_every_problem_is_reported_at_once() -> None:
    doc = _flow(
        n2=_send(destination="$(unknown)", on={"onSuccess": "n3", "onRead": "n3"}),
        n3={"type": "end", "on": {"onSuccess": "n9"}},
        n4={"type": "teleport"},
        n5={"type": "delay", "seconds": -1, "on": {"onSuccess": "nowhere"}},
    )
    doc["variables"]["ts"] = 1
    problems = _problems(doc)
    where = {(p.node, p.field) for p in problems}
    assert where >= {
        (None, "variables.ts"),
        ("n2", "destination"),
        ("n2", "on.onRead"),
        ("n3", "on.onSuccess"),
        ("n4", "type"),
        ("n5", "seconds"),
        ("n5", "on.onSuccess"),
    }, where
    with pytest.raises(InvalidFlow) as caught:
        parse_flow(doc)
    assert f"(and {len(problems) - 1} more)" in str(caught.value)


def test_flow_level_problems() -> None:
    assert _one({"id": "f"}).field == "nodes"
    problem = _problems({"id": "bad id!", "nodes": {"n1": {"type": "start"}}, "colour": 1})
    assert {p.field for p in problem} == {"colour", "id", "on.onStart"}
    two_starts = _flow(n4={"type": "start", "on": {"onStart": "n3"}})
    assert "exactly one start node" in _one(two_starts).message
    with pytest.raises(InvalidFlow):
        parse_flow(["not", "an", "object"])


def test_receive_and_branch_and_delay_problems() -> None:
    doc = _flow(
        n1={"type": "start", "on": {"onStart": "n4"}},
        n4={"type": "receive", "events": ["sms"], "on": {"whatsapp.mo": "n5"}},
        n5={"type": "branch", "conditions": [{"name": "x"}], "on": {}},
        n6={"type": "branch", "conditions": [{"name": "y", "when": {"left": "a", "op": "??"}}]},
        n7={"type": "delay", "on": {"onSuccess": "n2"}},
    )
    problems = _problems(doc)
    where = {(p.node, p.field) for p in problems}
    assert where >= {
        ("n4", "events"),
        ("n4", "timeout"),
        ("n5", "conditions[0]"),
        ("n6", "conditions[0].when.op"),
        ("n7", "seconds"),
    }, where


def test_start_triggers() -> None:
    trigger = {
        "events": ["message", "postback"],
        "when": {"left": "$(n1.whatsapp.message)", "op": "starts_with", "right": "BOOK"},
        "skip_if_waiting": True,
    }
    doc = _flow(
        n1={
            "type": "start",
            "triggers": {"api": False, "whatsapp": trigger},
            "on": {"onStart": "n2"},
        }
    )
    flow = parse_flow(doc)
    assert flow.api_trigger is False
    assert isinstance(flow.whatsapp_trigger, WhatsAppTrigger)
    assert flow.whatsapp_trigger.events == frozenset({"message", "postback"})
    assert flow.whatsapp_trigger.skip_if_waiting is True
    assert flow.whatsapp_trigger.condition is not None
    assert flow.whatsapp_trigger.condition.op == "starts_with"

    bad = copy.deepcopy(doc)
    bad["nodes"]["n1"]["triggers"]["whatsapp"]["events"] = ["sms"]
    bad["nodes"]["n1"]["triggers"]["whatsapp"]["skip_if_waiting"] = "yes"
    assert {p.field for p in _problems(bad)} == {
        "triggers.whatsapp.events",
        "triggers.whatsapp.skip_if_waiting",
    }
