"""Opt-in end to end: a template to a customer outside the window needs their consent."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.harness import Harness, running
from tests.support.receiver import receiver

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


async def hello_world(wn: Harness) -> str:
    """The id of the sandbox WABA's approved `hello_world` sample, synced into the registry."""
    synced = await wn.client.post("/v1/templates/sync", json={"appid": wn.app_id})
    assert synced.status_code == 200, synced.text
    listed = await wn.client.get(
        "/v1/templates", params={"appid": wn.app_id, "name": "hello_world"}
    )
    [template] = listed.json()["templates"]
    assert template["status"] == "APPROVED"
    return str(template["id"])


def template_request(wn: Harness, template_id: str, notify: str) -> dict[str, Any]:
    return {
        "appid": wn.app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"customerid": ["cust-7"]}],
        "message": {"template": template_id, "parameters": {}},
        "notifyurl": notify,
    }


async def test_consent_granted_then_revoked(db: Database) -> None:
    async with receiver() as dr, running(db, policy_window=True) as wn:
        template_id = await hello_world(wn)
        await wn.client.put("/v1/contacts/cust-7", json={"waid": HANDSET})

        unknown = await wn.client.post(
            "/resources/v1/messaging", json=template_request(wn, template_id, f"{dr.url}/dr")
        )
        transid = unknown.json()["response"][0]["transid"]
        await wn.wait_status(transid, "failed")
        [report] = await dr.wait_for(1)
        info = report.json()["deliveryInfoNotification"]["deliveryInfo"]
        assert (info["code"], info["deliveryStatus"]) == ("9002", "Failed")
        assert info["Description"] == "Recipient has not consented to message"

        granted = await wn.client.put(
            "/v1/contacts/cust-7",
            json={"waid": HANDSET, "optIn": {"status": "opted_in", "source": "web form"}},
        )
        assert granted.status_code == 200, granted.text
        sent = await wn.client.post(
            "/resources/v1/messaging", json=template_request(wn, template_id, f"{dr.url}/dr")
        )
        await wn.wait_status(sent.json()["response"][0]["transid"], "read")
        inbox = (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json()
        assert [m["type"] for m in inbox] == ["template"]

        await wn.client.put(
            "/v1/contacts/cust-7", json={"waid": HANDSET, "optIn": {"status": "opted_out"}}
        )
        revoked = await wn.client.post(
            "/resources/v1/messaging", json=template_request(wn, template_id, f"{dr.url}/dr")
        )
        message = await wn.wait_status(revoked.json()["response"][0]["transid"], "failed")
        assert message["history"][-1]["error"]["title"] == "Recipient has not consented to message"


async def test_opt_in_rule_per_app(db: Database) -> None:
    async with running(db, policy_window=True) as wn:
        template_id = await hello_world(wn)
        await wn.client.put("/v1/contacts/cust-7", json={"waid": HANDSET})
        off = await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"opt_in_categories": []})
        assert off.json()["opt_in_categories"] == []
        sent = await wn.client.post(
            "/resources/v1/messaging", json=template_request(wn, template_id, "http://x.invalid/")
        )
        await wn.wait_status(sent.json()["response"][0]["transid"], "read")
