"""A conversation end to end: a customer writes, wanode forwards a signed MO event to a
subscriber, the subscriber answers inside the window; 25 hours later (injected clock) the same
free-form answer is refused with 7710 and a failed DR, while an approved template still goes
to a customer who opted in."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest
from tests.integration.test_opt_in import hello_world
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import drs_by_message, receiver

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _answer(wn: Harness, to: str, body: str, notify: str) -> dict[str, Any]:
    return {
        "appid": wn.app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": [to]}],
        "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": body}}}},
        "notifyurl": notify,
    }


async def test_reply_inside_the_window_then_refused_a_day_later(db: Database) -> None:
    clock = Clock()
    async with (
        receiver() as subscriber,
        receiver() as dr,
        running(db, clock=clock, policy_window=True) as wn,
    ):
        created = await wn.client.post(
            "/v1/subscriptions", json={"url": f"{subscriber.url}/events", "appid": wn.app_id}
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]

        wrote = await wn.client.post(
            f"/sandbox/handsets/{HANDSET}/send",
            json={"phone_number_id": wn.app["phone_number_id"], "text": "Table for two at 8?"},
        )
        assert wrote.status_code == 201
        [event_request] = await subscriber.wait_for(1)
        expected = (
            "sha256=" + hmac.new(secret.encode(), event_request.body, hashlib.sha256).hexdigest()
        )
        assert event_request.headers["x-hub-signature-256"] == expected
        event = event_request.json()
        assert (event["event"], event["waid"], event["message"]) == (
            "MO",
            HANDSET,
            "Table for two at 8?",
        )

        # The subscriber answers the customer who wrote.
        reply = await wn.client.post(
            "/resources/v1/messaging", json=_answer(wn, event["waid"], "Booked!", f"{dr.url}/dr")
        )
        answered = reply.json()["response"][0]["transid"]
        await wn.wait_status(answered, "read")
        # Its three DRs are recorded delivered before the clock jumps: a jump of a day makes
        # every lease of a DR still on its way run out, and the DR would be posted again.
        # Arrived is not enough: the notifier records a DR only after its POST is answered.
        await wait_until(
            lambda: wn.message(answered),
            lambda m: [d["state"] for d in m["deliveryReports"]] == ["delivered"] * 3,
            timeout=10,
            what="the reply's DRs to be delivered",
        )

        clock.offset = 25 * 3600
        late = await wn.client.post(
            "/resources/v1/messaging", json=_answer(wn, event["waid"], "Booked!", f"{dr.url}/dr")
        )
        transid = late.json()["response"][0]["transid"]
        await wn.wait_status(transid, "failed")
        # Four DRs in all: the reply's three, and the refused message's 7710 alone (refused
        # before it was sent, it has no 7501).
        assert drs_by_message(await dr.wait_for(4)) == {
            answered: [("7501", "Submitted"), ("7500", "Delivered"), ("7502", "Read")],
            transid: [("7710", "Failed")],
        }
        inbox = (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json()
        assert [m["text"] for m in inbox] == ["Booked!"]

        # An approved template still goes to a customer who agreed to receive it.
        await wn.client.put(
            "/v1/contacts/guest-1", json={"waid": HANDSET, "optIn": {"status": "opted_in"}}
        )
        template = await wn.client.post(
            "/resources/v1/messaging",
            json={
                "appid": wn.app_id,
                "deliverychannel": "whatsapp",
                "destination": [{"waid": [HANDSET]}],
                "message": {"template": await hello_world(wn), "parameters": {}},
            },
        )
        assert template.status_code == 200, template.text
        await wn.wait_status(template.json()["response"][0]["transid"], "read")
