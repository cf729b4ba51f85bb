"""Run state to and from the JSON stored in a run's row. Pure."""

from __future__ import annotations

from typing import Any, cast

from wanode.flows.model import RunState, RunStatus, Wait, WaitKind


def state_to_json(state: RunState) -> dict[str, Any]:
    wait = state.wait
    return {
        "status": state.status,
        "node": state.node,
        "contact": state.contact,
        "variables": dict(state.variables),
        "outputs": {k: dict(v) for k, v in state.outputs.items()},
        "session": dict(state.session),
        "wait": None
        if wait is None
        else {
            "kind": wait.kind,
            "node": wait.node,
            "deadline": wait.deadline,
            "transid": wait.transid,
            "target": wait.target,
            "events": sorted(wait.events),
            "contact": wait.contact,
            "request": None if wait.request is None else dict(wait.request),
        },
        "result": None if state.result is None else dict(state.result),
        "steps": state.steps,
    }


def state_from_json(data: dict[str, Any]) -> RunState:
    wait = data.get("wait")
    return RunState(
        status=cast(RunStatus, data["status"]),
        node=data["node"],
        contact=data.get("contact"),
        variables=data.get("variables") or {},
        outputs=data.get("outputs") or {},
        session=data.get("session") or {},
        wait=None
        if wait is None
        else Wait(
            kind=cast(WaitKind, wait["kind"]),
            node=wait["node"],
            deadline=wait.get("deadline"),
            transid=wait.get("transid"),
            target=wait.get("target"),
            events=frozenset(wait.get("events") or ()),
            contact=wait.get("contact"),
            request=wait.get("request"),
        ),
        result=data.get("result"),
        steps=data.get("steps", 0),
    )
