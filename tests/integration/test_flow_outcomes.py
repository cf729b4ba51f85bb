"""Every outcome of the WhatsApp send node, driven by the sandbox, on SQLite and PostgreSQL:
a handset that reads, one that only receives, one that never receives, one whose identity
changed, a send outside the 24-hour window, an expired message and an invalid field."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.integration.test_opt_in import hello_world
from tests.support.harness import Harness, running, wait_until

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112340101"
SUCCESS = {
    "none": "onSuccess",
    "submit": "onSubmit",
    "delivery": "onDeliveryReportSuccess",
    "read": "onRead",
}
OUTCOMES = {
    "none": ("onSuccess", "onError", "onPolicyFail"),
    "submit": ("onSubmit", "onError", "onPolicyFail", "onTimeout"),
    "delivery": (
        "onDeliveryReportSuccess",
        "onError",
        "onPolicyFail",
        "onTimeout",
        "onDeliveryReportFail",
    ),
    "read": ("onRead", "onError", "onPolicyFail", "onTimeout", "onDeliveryReportFail"),
}
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Clock:
    """Real time plus an offset a test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def send_flow(
    flow_id: str, wait_for: str = "none", timeout: float = 2, **send: Any
) -> dict[str, Any]:
    """start → send (every outcome connected to one end node) → end."""
    node: dict[str, Any] = {
        "type": "whatsapp",
        "destination": "$(phone)",
        "wa": {"type": "text", "text": {"body": "Your table is ready, $(phone)"}},
        "wait_for": wait_for,
        "on": dict.fromkeys(OUTCOMES[wait_for], "n3"),
    }
    if wait_for != "none":
        node["timeout"] = timeout
    node.update(send)
    return {
        "id": flow_id,
        "variables": {"phone": HANDSET, "body": ""},
        "nodes": {
            "n1": {"type": "start", "on": {"onStart": "n2"}},
            "n2": node,
            "n3": {"type": "end"},
        },
    }


async def deploy(wn: Harness, doc: dict[str, Any]) -> None:
    response = await wn.client.post("/v1/flows", json=doc)
    assert response.status_code == 201, response.text


async def start(wn: Harness, flow_id: str, **variables: Any) -> dict[str, Any]:
    response = await wn.client.post(f"/v1/flows/{flow_id}/runs", json={"variables": variables})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def finished(wn: Harness, run: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
    url = f"/v1/flows/{run['flow_id']}/runs/{run['id']}"

    async def get() -> dict[str, Any]:
        response = await wn.client.get(url)
        assert response.status_code == 200, response.text
        return dict(response.json())

    return dict(
        await wait_until(get, lambda r: r["status"] != "waiting", timeout=timeout, what="run end")
    )


def taken(run: dict[str, Any], node: str = "n2") -> str:
    [outcome] = [h["outcome"] for h in run["history"] if h["node"] == node]
    return str(outcome)


async def configure(wn: Harness, wa_id: str, **settings: Any) -> None:
    response = await wn.client.put(f"/sandbox/handsets/{wa_id}", json=settings)
    assert response.status_code == 200, response.text


async def handset_writes(wn: Harness, text: str, wa_id: str = HANDSET) -> None:
    body = {"phone_number_id": wn.app["phone_number_id"], "text": text}
    response = await wn.client.post(f"/sandbox/handsets/{wa_id}/send", json=body)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("wait_for", ["none", "submit", "delivery", "read"])
async def test_a_handset_that_reads(db: Database, wait_for: str) -> None:
    async with running(db) as wn:
        await deploy(wn, send_flow("reads", wait_for))
        run = await start(wn, "reads")
        done = await finished(wn, run)
        assert done["status"] == "completed", done
        assert taken(done) == SUCCESS[wait_for]
        assert [h["node"] for h in done["history"]] == ["n1", "n2", "n3"]
        assert done["result"]["outcome"] == "end"

        out = done["outputs"]["n2"]
        transid = out["send.gatewayTid"]
        message = await wn.message(transid)
        assert message["transid"] == transid
        assert ISO_UTC.fullmatch(out["send.sentDateTime"]), out
        assert out["send.response_data"] == [
            {"code": "1001", "description": "Queued", "transid": transid}
        ]
        # The status the node saw: its target, or a later one when the handset was quicker
        # than the flow loop (a read message has been delivered too).
        reached = {
            "none": [("1001", "Queued")],
            "submit": [("7501", "Submitted"), ("7500", "Delivered"), ("7502", "Read")],
            "delivery": [("7500", "Delivered"), ("7502", "Read")],
            "read": [("7502", "Read")],
        }[wait_for]
        assert (out["send.deliveryStatusCode"], out["send.deliveryStatusDescription"]) in reached
        # The message reaches the handset and is read whatever the node waited for.
        await wn.wait_status(transid, "read")
        inbox = (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json()
        assert [m["text"] for m in inbox] == [f"Your table is ready, {HANDSET}"] or inbox


async def test_a_handset_that_only_receives(db: Database) -> None:
    async with running(db) as wn:
        await configure(wn, HANDSET, reads=False)
        await deploy(wn, send_flow("read", "read", timeout=1))
        await deploy(wn, send_flow("delivery", "delivery", timeout=5))
        read_run = await start(wn, "read")
        delivery_run = await start(wn, "delivery")

        delivered = await finished(wn, delivery_run)
        assert taken(delivered) == "onDeliveryReportSuccess"
        assert delivered["outputs"]["n2"]["send.deliveryStatusCode"] == "7500"

        timed_out = await finished(wn, read_run)
        assert taken(timed_out) == "onTimeout"
        # The delivery report it saw on the way is kept: delivered, never read.
        assert timed_out["outputs"]["n2"]["send.deliveryStatusCode"] == "7500"
        transid = timed_out["outputs"]["n2"]["send.gatewayTid"]
        assert (await wn.message(transid))["status"] == "delivered"


async def test_a_handset_that_never_receives(db: Database) -> None:
    async with running(db) as wn:
        await configure(wn, HANDSET, online=False)
        await deploy(wn, send_flow("delivery", "delivery", timeout=1))
        await deploy(wn, send_flow("submit", "submit", timeout=5))
        delivery_run = await start(wn, "delivery")
        submit_run = await start(wn, "submit")

        # WhatsApp accepted the message: the submit wait succeeds...
        submitted = await finished(wn, submit_run)
        assert taken(submitted) == "onSubmit"
        assert submitted["outputs"]["n2"]["send.deliveryStatusCode"] == "7501"
        # ...but no delivery report comes back from an offline handset.
        timed_out = await finished(wn, delivery_run)
        assert taken(timed_out) == "onTimeout"
        assert timed_out["result"]["code"] == 101  # the edge is connected to an end node
        transid = timed_out["outputs"]["n2"]["send.gatewayTid"]
        assert (await wn.message(transid))["status"] in ("submitted", "sent")


async def test_an_unconnected_timeout_ends_the_run_with_an_error_result(db: Database) -> None:
    async with running(db) as wn:
        await configure(wn, HANDSET, online=False)
        doc = send_flow("unconnected", "delivery", timeout=1)
        doc["nodes"]["n2"]["on"] = {"onDeliveryReportSuccess": "n3"}
        await deploy(wn, doc)
        done = await finished(wn, await start(wn, "unconnected"))
        assert done["status"] == "completed"
        assert done["result"]["code"] == 102
        assert (done["result"]["node"], done["result"]["outcome"]) == ("n2", "onTimeout")


async def test_a_handset_whose_identity_changed(db: Database) -> None:
    """The hash is captured from the customer's message (a Receive node), the identity then
    changes, and a send with the captured hash comes back failed with 7862."""
    doc = {
        "id": "identity",
        "nodes": {
            "n1": {"type": "start", "on": {"onStart": "n2"}},
            "n2": {"type": "receive", "timeout": 30, "on": {"whatsapp.mo": "n3"}},
            "n3": {"type": "receive", "timeout": 30, "on": {"whatsapp.mo": "n4"}},
            "n4": {
                "type": "whatsapp",
                "destination": "$(whatsapp.waId)",
                "wa": {"type": "text", "text": {"body": "Your code is 123456"}},
                "identity_key_hash": "$(n2.whatsapp.identityHash)",
                "wait_for": "delivery",
                "timeout": 5,
                "on": dict.fromkeys(OUTCOMES["delivery"], "n5"),
            },
            "n5": {"type": "end"},
        },
    }
    async with running(db) as wn:
        await deploy(wn, doc)
        response = await wn.client.post("/v1/flows/identity/runs", json={"waid": HANDSET})
        assert response.status_code == 201, response.text
        run = response.json()
        url = f"/v1/flows/identity/runs/{run['id']}"

        async def get() -> dict[str, Any]:
            return dict((await wn.client.get(url)).json())

        await handset_writes(wn, "hello")
        at_n3 = await wait_until(get, lambda r: r["node"] == "n3", timeout=10, what="first reply")
        old = at_n3["outputs"]["n2"]["whatsapp.identityHash"]
        handset = (await wn.client.get(f"/sandbox/handsets/{HANDSET}")).json()
        assert old and old == handset["identity_key_hash"]

        rotated = await wn.client.post(f"/sandbox/handsets/{HANDSET}/identity")
        new = rotated.json()["identity_key_hash"]
        await handset_writes(wn, "new phone, same me")
        done = await finished(wn, run)
        assert done["outputs"]["n3"]["whatsapp.identityHash"] == new != old
        assert taken(done, "n4") == "onDeliveryReportFail", done["history"]
        out = done["outputs"]["n4"]
        assert out["send.deliveryStatusCode"] == "7862"
        assert out["send.deliveryStatusDescription"] == "Hash mismatch"
        message = await wn.message(out["send.gatewayTid"])
        assert message["status"] == "failed" and message["error"]["code"] == 137000


async def test_a_send_outside_the_24_hour_window(db: Database) -> None:
    async with running(db, policy_window=True) as wn:
        await deploy(wn, send_flow("window", "read"))
        done = (await start(wn, "window")) | {}
        # The policy refuses at once: the run ends before the API answers.
        assert done["status"] == "completed", done
        assert taken(done) == "onPolicyFail"
        out = done["outputs"]["n2"]
        assert out["send.deliveryStatusCode"] == "7710"
        transid = out["send.gatewayTid"]
        assert out["send.response_data"][0]["transid"] == transid
        assert (await wn.message(transid))["status"] == "failed"
        assert (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json() == []

        # An approved template still goes to a customer who agreed to receive it.
        opted_in = await wn.client.put(
            "/v1/contacts/guest-1", json={"waid": HANDSET, "optIn": {"status": "opted_in"}}
        )
        assert opted_in.status_code in (200, 201), opted_in.text
        template = {"template": await hello_world(wn), "parameters": {}}
        doc = send_flow("template", "read", timeout=5, wa=None, template=template)
        del doc["nodes"]["n2"]["wa"]
        await deploy(wn, doc)
        sent = await finished(wn, await start(wn, "template"))
        assert taken(sent) == "onRead"


async def test_an_expired_message_by_utc_time(db: Database) -> None:
    past = datetime.fromtimestamp(time.time() - 60, UTC).isoformat().replace("+00:00", "Z")
    async with running(db) as wn:
        doc = send_flow("expired", "delivery", expiry="$(expiry)")
        doc["variables"]["expiry"] = ""
        await deploy(wn, doc)
        done = await start(wn, "expired", expiry=past)
        assert done["status"] == "completed", done
        assert taken(done) == "onPolicyFail"
        out = done["outputs"]["n2"]
        assert (out["send.deliveryStatusCode"], out["send.deliveryStatusDescription"]) == (
            "7705",
            "Message expired",
        )
        assert (await wn.message(out["send.gatewayTid"]))["status"] == "failed"

        # A time still ahead, or no expiry at all (the variable left blank), sends.
        future = datetime.fromtimestamp(time.time() + 600, UTC).isoformat()
        for expiry in (future, ""):
            ok = await finished(wn, await start(wn, "expired", expiry=expiry))
            assert taken(ok) == "onDeliveryReportSuccess", expiry


async def test_an_expiry_in_seconds_that_passes_before_the_send(db: Database) -> None:
    clock = Clock()
    async with running(db, clock=clock, start_engine=False) as wn:
        await deploy(wn, send_flow("seconds", "delivery", timeout=600, expiry=60))
        run = await start(wn, "seconds")
        assert run["status"] == "waiting" and run["waiting_for"]["kind"] == "message"
        clock.offset = 61  # the engine was busy: the message is not sent within its expiry
        await wn.ctx.engine.run_until_idle()
        done = await finished(wn, run)
        assert taken(done) == "onPolicyFail"
        assert done["outputs"]["n2"]["send.deliveryStatusCode"] == "7705"
        assert (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json() == []


async def test_an_invalid_field_after_variable_resolution(db: Database) -> None:
    async with running(db) as wn:
        doc = send_flow("invalid", "read", wa={"type": "text", "text": {"body": "$(body)"}})
        await deploy(wn, doc)
        done = await start(wn, "invalid", body="x" * 4097)
        assert done["status"] == "completed", done
        assert taken(done) == "onError"
        out = done["outputs"]["n2"]
        assert out["send.deliveryStatusCode"] == "7004"
        [response] = out["send.response_data"]
        assert response["code"] == "7004"
        assert response["field"] == "wa.text.body"
        assert "4097" in response["description"] and "text.body" in response["description"]
        assert out["send.gatewayTid"] == ""

        bad = await start(wn, "invalid", body="fine", phone="call me maybe")
        assert taken(bad) == "onError"
        [response] = bad["outputs"]["n2"]["send.response_data"]
        assert (response["code"], response["field"]) == ("7004", "destination")

        listed = (await wn.client.get("/v1/messages", params={"waid": HANDSET})).json()
        assert listed.get("messages", []) == []
