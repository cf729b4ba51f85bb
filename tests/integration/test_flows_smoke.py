"""A flow end to end against the sandbox: send, wait for the read, receive a reply, branch."""

from __future__ import annotations

import pytest
from tests.support.harness import running, wait_until

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112340001"

FLOW = {
    "id": "smoke",
    "variables": {"phone": ""},
    "nodes": {
        "n1": {"type": "start", "on": {"onStart": "n2"}},
        "n2": {
            "type": "whatsapp",
            "destination": "$(phone)",
            "wa": {"type": "text", "text": {"body": "Reply yes or no"}},
            "wait_for": "read",
            "timeout": 30,
            "on": {"onRead": "n3"},
        },
        "n3": {"type": "receive", "timeout": 30, "on": {"whatsapp.mo": "n4"}},
        "n4": {
            "type": "branch",
            "conditions": [
                {
                    "name": "yes",
                    "when": {
                        "left": "$(n3.receive.message)",
                        "op": "equals_ignore_case",
                        "right": "yes",
                    },
                }
            ],
            "on": {"yes": "n5"},
        },
        "n5": {
            "type": "whatsapp",
            "destination": "$(whatsapp.waId)",
            "wa": {"type": "text", "text": {"body": "Great, $(n3.whatsapp.username)!"}},
            "on": {"onSuccess": "n6"},
        },
        "n6": {"type": "end"},
    },
}


async def test_send_read_receive_branch(db: Database) -> None:
    async with running(db) as wn:
        deployed = await wn.client.post("/v1/flows", json=FLOW)
        assert deployed.status_code == 201, deployed.text
        started = await wn.client.post(
            "/v1/flows/smoke/runs", json={"variables": {"phone": HANDSET}}
        )
        assert started.status_code == 201, started.text
        run = started.json()
        assert run["status"] == "waiting" and run["node"] == "n2", run
        url = f"/v1/flows/smoke/runs/{run['id']}"

        async def get() -> dict:
            return (await wn.client.get(url)).json()

        await wait_until(get, lambda r: r["node"] == "n3", timeout=10, what="read")
        wrote = await wn.client.post(
            f"/sandbox/handsets/{HANDSET}/send",
            json={"phone_number_id": wn.app["phone_number_id"], "text": "Yes"},
        )
        assert wrote.status_code == 201, wrote.text
        done = await wait_until(get, lambda r: r["status"] != "waiting", timeout=10, what="end")
        assert done["status"] == "completed", done
        outcomes = [(h["node"], h["outcome"]) for h in done["history"]]
        assert outcomes == [
            ("n1", "onStart"),
            ("n2", "onRead"),
            ("n3", "whatsapp.mo"),
            ("n4", "yes"),
            ("n5", "onSuccess"),
            ("n6", "end"),
        ], outcomes
        assert done["outputs"]["n2"]["send.deliveryStatusCode"] == "7502"
