"""Flow deploy checks every static message as the Messaging API would, and reports every
problem (node, field, code) in one answer; values with `$(...)` are left to run time (SQLite
and PostgreSQL, the sandbox in-process)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.test_opt_in import hello_world
from tests.support.harness import running

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112340155"
ALL = {"onSuccess": "fin", "onError": "fin", "onPolicyFail": "fin"}


def send(**settings: Any) -> dict[str, Any]:
    return {"type": "whatsapp", "destination": "$(phone)", "on": dict(ALL), **settings}


def list_message(sections: Any, button: str = "Pick") -> dict[str, Any]:
    return {
        "type": "list",
        "list": {"body": {"text": "Choose"}, "action": {"button": button, "sections": sections}},
    }


def flow(flow_id: str, nodes: dict[str, Any]) -> dict[str, Any]:
    chain = list(nodes)
    linked = {"n0": {"type": "start", "on": {"onStart": chain[0]}}}
    for node_id, next_id in zip(chain, [*chain[1:], "fin"], strict=True):
        linked[node_id] = {**nodes[node_id], "on": {**nodes[node_id]["on"], "onSuccess": next_id}}
    linked["fin"] = {"type": "end"}
    return {"id": flow_id, "variables": {"phone": HANDSET, "row": "", "url": ""}, "nodes": linked}


async def test_a_bad_flow_is_refused_with_every_problem(db: Database) -> None:
    async with running(db) as wn:
        template_id = await hello_world(wn)
        doc = flow(
            "bad",
            {
                # The case: Webex refuses it when the node is saved.
                "empty_list": send(wa=list_message([])),
                # Two problems in one message, and a bad static number.
                "long": send(
                    destination="12",
                    wa=list_message(
                        [{"title": "A", "rows": [{"id": "a", "title": "t" * 30}]}],
                        button="b" * 30,
                    ),
                ),
                "unknown_template": send(template={"template": "999999", "parameters": {}}),
                "bad_parameter": send(
                    template={"template": template_id, "parameters": {"nope": "x"}}
                ),
                "structure": send(wa={"type": "text", "text": {"body": "hi"}}, wait_for="seen"),
                # Variables stand in for what they hold: fine here, checked when the node runs.
                "variables": send(
                    wa={
                        "type": "list",
                        "list": {
                            "body": {"text": "Hello $(phone)"},
                            "action": {
                                "button": "Pick",
                                "sections": [
                                    {
                                        "title": "Rows",
                                        "rows": [
                                            {"id": "$(row)", "title": "$(row)"},
                                            {"id": "$(url)", "title": "$(url)"},
                                        ],
                                    }
                                ],
                            },
                        },
                    }
                ),
                "media": send(wa={"type": "image", "image": {"url": "$(url)", "caption": "Hi"}}),
            },
        )
        refused = await wn.client.post("/v1/flows", json=doc)
        assert refused.status_code == 400, refused.text
        body = refused.json()
        found = [(p["node"], p["field"], p["code"]) for p in body["problems"]]
        assert sorted(found) == sorted(
            [
                ("structure", "wait_for", "7004"),
                ("empty_list", "wa.list.action.sections", "7003"),
                ("long", "destination", "7004"),
                ("long", "wa.list.action.sections[0].rows[0].title", "7004"),
                ("long", "wa.list.action.button", "7004"),
                ("unknown_template", "template.template", "7108"),
                # An extra parameter: Template Param Count Mismatch, as the Messaging API says.
                ("bad_parameter", "template.parameters.nope", "7804"),
            ]
        )
        assert all(p["message"] for p in body["problems"])
        assert body["error"]["code"] == body["problems"][0]["code"]
        assert "(and 6 more)" in body["error"]["message"]
        assert (await wn.client.get("/v1/flows/bad")).status_code == 404

        # Fixed, the same flow deploys, and its variables are still checked when it runs.
        doc["nodes"]["empty_list"]["wa"] = list_message(
            [{"title": "A", "rows": [{"id": "a", "title": "A"}]}]
        )
        doc["nodes"]["long"] = send(wa={"type": "text", "text": {"body": "hi"}})
        doc["nodes"]["long"]["on"]["onSuccess"] = "unknown_template"
        doc["nodes"]["unknown_template"]["template"]["template"] = template_id
        doc["nodes"]["bad_parameter"]["template"]["parameters"] = {}
        doc["nodes"]["structure"]["wait_for"] = "none"
        deployed = await wn.client.post("/v1/flows", json=doc)
        assert deployed.status_code == 201, deployed.text


async def test_the_destination_follows_the_apps_e164_rule(db: Database) -> None:
    async with running(db) as wn:
        strict = await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"require_e164": True})
        assert strict.status_code == 200, strict.text
        doc = flow(
            "e164", {"n1": send(destination=HANDSET, wa={"type": "text", "text": {"body": "hi"}})}
        )
        refused = await wn.client.post("/v1/flows", json=doc)
        assert refused.status_code == 400, refused.text
        [problem] = refused.json()["problems"]
        assert (problem["node"], problem["field"]) == ("n1", "destination")
        doc["nodes"]["n1"]["destination"] = f"+{HANDSET}"
        assert (await wn.client.post("/v1/flows", json=doc)).status_code == 201
