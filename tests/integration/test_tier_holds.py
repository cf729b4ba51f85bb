"""Messages the messaging tier holds: their expiry is enforced while they are held (7705 DR, a
flow node's onPolicyFail), across a restart too, and raising the tier releases them, oldest
first (SQLite and PostgreSQL, the sandbox in-process)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.integration.test_opt_in import hello_world
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import receiver

from wanode.store import Database
from wanode.store import messages as outbox
from wanode.store.tables import messages

pytestmark = pytest.mark.asyncio

FIRST = "4915112350001"


class Clock:
    """Real time plus an offset a test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Ticking:
    """A clock that moves 1 ms each time it is read: every event gets a time of its own."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def customer(n: int) -> str:
    return f"49151123500{n:02d}"


async def set_tier(wn: Harness, tier: int | str) -> dict[str, Any]:
    patched = await wn.client.patch(
        f"/v1/apps/{wn.app_id}", json={"messaging_tier": tier, "opt_in_categories": []}
    )
    assert patched.status_code == 200, patched.text
    return dict(patched.json())


async def send_template(wn: Harness, template_id: str, to: str, **extra: Any) -> str:
    response = await wn.client.post(
        "/resources/v1/messaging",
        json={
            "appid": wn.app_id,
            "deliverychannel": "whatsapp",
            "destination": [{"waid": [to]}],
            "message": {"template": template_id, "parameters": {}},
            **extra,
        },
    )
    assert response.status_code == 200, response.text
    [item] = response.json()["response"]
    assert item["code"] == "1001", item
    return str(item["transid"])


async def held_by_tier(wn: Harness, transid: str) -> dict[str, Any]:
    return dict(
        await wait_until(
            lambda: wn.message(transid),
            lambda m: m["heldReason"] == "tier",
            timeout=10,
            what=f"{transid} held by the tier",
        )
    )


async def test_a_held_message_expires_while_held(db: Database) -> None:
    """The issue's repro: tier 1, a second new customer with `"expiry": 2` is held; it fails
    with DR 7705 once the 2 seconds are past, not when the tier's window moves, and a tier
    raised afterwards has nothing left to release."""
    clock = Clock()
    async with receiver() as dr, running(db, clock=clock) as wn:
        template_id = await hello_world(wn)
        await set_tier(wn, 1)
        first = await send_template(wn, template_id, FIRST)
        await wn.wait_status(first, "read")

        transid = await send_template(
            wn, template_id, customer(2), expiry=2, notifyurl=f"{dr.url}/dr"
        )
        held = await held_by_tier(wn, transid)
        assert (held["status"], held["attempts"]) == ("queued", 0)
        assert dr.requests == []

        clock.offset = 3  # the 2 seconds are past; the tier's window frees in 24 hours
        failed = await wn.wait_status(transid, "failed")
        assert failed["heldReason"] is None
        assert failed["history"][-1]["error"]["title"] == "Message expired"
        [report] = await dr.wait_for(1)
        info = report.json()["deliveryInfoNotification"]["deliveryInfo"]
        assert (info["code"], info["deliveryStatus"]) == ("7705", "Failed")
        assert info["Description"] == "Message expired"

        await set_tier(wn, "unlimited")
        await wn.ctx.engine.run_until_idle()
        assert (await wn.message(transid))["status"] == "failed"
        inbox = (await wn.client.get(f"/sandbox/handsets/{customer(2)}/messages")).json()
        assert inbox == []
        assert len(dr.requests) == 1


async def test_a_held_flow_send_with_an_expiry_leaves_by_on_policy_fail(db: Database) -> None:
    clock = Clock()
    async with running(db, clock=clock) as wn:
        template_id = await hello_world(wn)
        await set_tier(wn, 1)
        await wn.wait_status(await send_template(wn, template_id, FIRST), "read")
        doc = {
            "id": "held",
            "variables": {"phone": customer(3)},
            "nodes": {
                "n1": {"type": "start", "on": {"onStart": "n2"}},
                "n2": {
                    "type": "whatsapp",
                    "destination": "$(phone)",
                    "template": {"template": template_id, "parameters": {}},
                    "wait_for": "delivery",
                    "timeout": 600,
                    "expiry": 2,
                    "on": {
                        "onDeliveryReportSuccess": "n3",
                        "onPolicyFail": "n3",
                        "onTimeout": "n3",
                        "onError": "n3",
                        "onDeliveryReportFail": "n3",
                    },
                },
                "n3": {"type": "end"},
            },
        }
        deployed = await wn.client.post("/v1/flows", json=doc)
        assert deployed.status_code == 201, deployed.text
        started = await wn.client.post("/v1/flows/held/runs", json={})
        assert started.status_code == 201, started.text
        run = started.json()
        assert run["waiting_for"]["kind"] == "message"
        await held_by_tier(wn, run["waiting_for"]["transid"])

        clock.offset = 3  # past the expiry, long before the node's timeout

        async def get() -> dict[str, Any]:
            return dict((await wn.client.get(f"/v1/flows/held/runs/{run['id']}")).json())

        done = await wait_until(get, lambda r: r["status"] != "waiting", timeout=10, what="end")
        [outcome] = [h["outcome"] for h in done["history"] if h["node"] == "n2"]
        assert outcome == "onPolicyFail"
        out = done["outputs"]["n2"]
        assert (out["send.deliveryStatusCode"], out["send.deliveryStatusDescription"]) == (
            "7705",
            "Message expired",
        )


async def test_an_expiry_that_passed_while_the_service_was_down(db: Database) -> None:
    clock = Clock()
    async with running(db, clock=clock, start_engine=False) as wn:
        template_id = await hello_world(wn)
        await set_tier(wn, 1)
        first = await send_template(wn, template_id, FIRST)
        transid = await send_template(wn, template_id, customer(4), expiry=60)
        await wn.ctx.engine.run_until_idle()
        assert (await wn.message(first))["status"] != "queued"
        assert (await wn.message(transid))["heldReason"] == "tier"

    clock.offset = 120  # stopped for two minutes; the message expired meanwhile
    async with receiver() as dr:
        async with db.begin() as conn:
            # The DR goes where it would have gone had the request named this URL.
            await conn.execute(
                messages.update()
                .where(messages.c.transid == transid)
                .values(notify_url=f"{dr.url}/dr")
            )
        async with running(db, clock=clock) as wn:
            failed = await wn.wait_status(transid, "failed")
            assert failed["history"][-1]["error"]["title"] == "Message expired"
            [report] = await dr.wait_for(1)
            info = report.json()["deliveryInfoNotification"]["deliveryInfo"]
            assert info["code"] == "7705"
            assert (await wn.client.get(f"/sandbox/handsets/{customer(4)}/messages")).json() == []


async def test_raising_the_tier_releases_what_it_held_in_order(db: Database) -> None:
    """Tier 1 holds four new customers; tier 3 has room for two more and releases the two
    oldest; unlimited releases the rest. One message a claim, so the sends' order is the
    claims' order."""
    clock = Ticking()
    async with running(db, clock=clock, start_engine=False, dispatch_batch=1) as wn:
        template_id = await hello_world(wn)
        await set_tier(wn, 1)
        first = await send_template(wn, template_id, customer(10))
        await wn.ctx.engine.run_until_idle()
        held = [await send_template(wn, template_id, customer(n)) for n in (11, 12, 13, 14)]
        # A customer already reached takes no new place: never held.
        again = await send_template(wn, template_id, customer(10))
        await wn.ctx.engine.run_until_idle()
        for transid in held:
            assert (await wn.message(transid))["heldReason"] == "tier"
        assert (await wn.message(again))["status"] != "queued"

        shown = await set_tier(wn, 3)
        assert shown["messaging_tier"] == 3
        pacing = (await wn.client.get(f"/v1/apps/{wn.app_id}/pacing")).json()
        assert pacing["held"]["tier"] == 2  # the two newest are still held
        await wn.ctx.engine.run_until_idle()
        states = [await wn.message(transid) for transid in held]
        assert [m["status"] == "queued" for m in states] == [False, False, True, True]
        assert [m["heldReason"] for m in states[2:]] == ["tier", "tier"]

        await set_tier(wn, "unlimited")
        await wn.ctx.engine.run_until_idle()
        async with db.begin() as conn:
            rows = [await outbox.get(conn, transid) for transid in [first, *held]]
        assert all(row is not None and row["status"] != "queued" for row in rows)
        submitted = [row["submitted_at"] for row in rows if row is not None]
        assert submitted == sorted(submitted)
        assert all(row is not None and row["attempts"] == 1 for row in rows)
