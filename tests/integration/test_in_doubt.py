"""Sends a crash left unanswered: the dispatcher that claimed a message sent it and stopped
before recording the answer. When the lease runs out the message is claimed again "in doubt":
resent and flagged possiblyDuplicated (in the API and its DRs) on the Cloud API, resent without
the flag to the sandbox (which knows the repeat by its idempotency key), or failed with DR 7010
for an app whose `in_doubt` setting is "fail" (at most once)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from tests.support.graph import ACCEPTED, GRAPH, cloud_app, graph_mock, queue_text
from tests.support.harness import Harness, running
from tests.support.receiver import receiver

from wanode.engine.gateways import credentials
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import messages as outbox

pytestmark = pytest.mark.asyncio

T0 = 1_000_000.0
LEASE = 60.0


async def crash_after_sending(wn: Harness, transid: str, at: float) -> None:
    """What a dispatcher that dies mid-send leaves: the message claimed (its lease taken), its
    send begun (recorded) and accepted by the gateway, and the answer not recorded."""
    async with wn.ctx.db.begin() as conn:
        [claimed] = await outbox.claim(conn, at=at, lease_seconds=LEASE, limit=10)
        app = await app_queries.get_app(conn, claimed["app_id"])
        held = await outbox.mark_sending(
            conn, [(transid, claimed["lease_until"])], at=at, lease_seconds=LEASE
        )
        assert held == {transid}
    assert claimed["transid"] == transid and not claimed["in_doubt"]
    assert app is not None
    gateway = wn.ctx.engine.gateways.for_app(app)
    await gateway.send(credentials(app), claimed["payload"], idempotency_key=transid)


def in_doubt_count(metrics: str, action: str) -> float:
    found = re.search(rf'wanode_sends_in_doubt_total{{action="{action}"}} (\S+)', metrics)
    return float(found.group(1)) if found else 0.0


async def metrics(wn: Harness) -> str:
    return (await wn.client.get("/metrics")).text


@pytest.mark.parametrize("setting", [{}, {"in_doubt": "resend"}])
async def test_on_the_cloud_api_it_is_resent_and_flagged(
    db: Database, setting: dict[str, Any]
) -> None:
    now = [T0]
    with graph_mock() as (graph, transport):
        async with (
            receiver() as dr,
            running(db, clock=lambda: now[0], start_engine=False, cloud_transport=transport) as wn,
        ):
            route = graph.post(GRAPH).mock(return_value=httpx.Response(200, json=ACCEPTED))
            app_id = await cloud_app(wn, notify_url=f"{dr.url}/dr", **setting)
            transid = await queue_text(wn, app_id)
            await crash_after_sending(wn, transid, now[0])
            before = in_doubt_count(await metrics(wn), "resent")

            # Before the lease runs out nobody takes the message; after, it is in doubt.
            assert await wn.ctx.engine.dispatcher.run_once() == 0
            now[0] += LEASE + 1
            assert await wn.ctx.engine.dispatcher.run_once() == 1
            await wn.ctx.engine.notifier.run_once()

            message = await wn.message(transid)
            assert (message["status"], message["possiblyDuplicated"]) == ("submitted", True)
            assert route.call_count == 2  # WhatsApp was asked twice: it may hold two
            assert in_doubt_count(await metrics(wn), "resent") == before + 1
            [report] = await dr.wait_for(1)
            notification = report.json()["deliveryInfoNotification"]
            assert notification["deliveryInfo"]["code"] == "7501"
            assert notification["possiblyDuplicated"] is True


async def test_an_at_most_once_app_fails_it_with_7010(db: Database) -> None:
    now = [T0]
    with graph_mock() as (graph, transport):
        async with (
            receiver() as dr,
            running(db, clock=lambda: now[0], start_engine=False, cloud_transport=transport) as wn,
        ):
            route = graph.post(GRAPH).mock(return_value=httpx.Response(200, json=ACCEPTED))
            app_id = await cloud_app(wn, notify_url=f"{dr.url}/dr", in_doubt="fail")
            transid = await queue_text(wn, app_id)
            await crash_after_sending(wn, transid, now[0])
            before = in_doubt_count(await metrics(wn), "failed")

            now[0] += LEASE + 1
            assert await wn.ctx.engine.dispatcher.run_once() == 1
            await wn.ctx.engine.notifier.run_once()

            message = await wn.message(transid)
            assert route.call_count == 1  # only the send before the crash
            assert message["status"] == "failed"
            assert message["error"]["title"] == "In doubt"
            assert "not sent again" in message["error"]["details"]
            assert in_doubt_count(await metrics(wn), "failed") == before + 1
            [report] = await dr.wait_for(1)
            info = report.json()["deliveryInfoNotification"]["deliveryInfo"]
            assert (info["code"], info["deliveryStatus"]) == ("7010", "Failed")


async def test_to_the_sandbox_it_is_resent_unflagged_and_the_handset_has_it_once(
    db: Database,
) -> None:
    now = [time.time()]
    async with running(db, clock=lambda: now[0], start_engine=False) as wn:
        transid = await queue_text(wn, wn.app_id)
        await crash_after_sending(wn, transid, now[0])
        now[0] += LEASE + 1
        wn.ctx.engine.start()
        try:
            read = await wn.wait_status(transid, "read")
        finally:
            await wn.ctx.engine.stop()
        assert read["possiblyDuplicated"] is False
        handset = wn.sandbox.handsets.get(read["destination"])
        assert [entry.wamid for entry in handset.inbox] == [read["wamid"]]


async def test_only_a_lapsed_lease_on_a_begun_send_makes_a_message_in_doubt(
    db: Database,
) -> None:
    async with running(db, start_engine=False) as wn:
        first = await queue_text(wn, wn.app_id)
        at = time.time() + 1

        async def claim(when: float) -> dict[str, Any]:
            async with db.begin() as conn:
                [claimed] = await outbox.claim(conn, at=when, lease_seconds=LEASE, limit=10)
            assert claimed["transid"] == first
            return claimed

        claimed = await claim(at)
        assert claimed["in_doubt"] is False
        # A hold (or a retry, or a recorded answer) ends the lease: not in doubt, even after
        # the send began.
        async with db.begin() as conn:
            await outbox.mark_sending(
                conn, [(first, claimed["lease_until"])], at=at, lease_seconds=LEASE
            )
            await outbox.hold(conn, first, next_attempt_at=at, reason="pacing")
        assert (await claim(at))["in_doubt"] is False
        # A lease left to run out before the send began: nothing left, nothing in doubt.
        at += LEASE + 1
        claimed = await claim(at)
        assert claimed["in_doubt"] is False
        # A lease left to run out after the send began: it may have reached WhatsApp.
        async with db.begin() as conn:
            await outbox.mark_sending(
                conn, [(first, claimed["lease_until"])], at=at, lease_seconds=LEASE
            )
        at += LEASE + 1
        assert (await claim(at))["in_doubt"] is True
        # That claim starts afresh: if it runs out before its own send began, it is not.
        at += LEASE + 1
        assert (await claim(at))["in_doubt"] is False


async def test_a_claim_taken_over_cannot_begin_its_send(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        first = await queue_text(wn, wn.app_id)
        at = time.time() + 1
        async with db.begin() as conn:
            [stale] = await outbox.claim(conn, at=at, lease_seconds=LEASE, limit=10)
            # The lease runs out before its send's turn comes; another claim takes over.
            [fresh] = await outbox.claim(conn, at=at + LEASE + 1, lease_seconds=LEASE, limit=10)
            claims = [(first, stale["lease_until"])]
            assert await outbox.mark_sending(conn, claims, at=at, lease_seconds=LEASE) == set()
            claims = [(first, fresh["lease_until"])]
            assert await outbox.mark_sending(
                conn, claims, at=at + LEASE + 2, lease_seconds=LEASE
            ) == {first}


async def test_the_setting_is_shown_changed_and_checked(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        shown = (await wn.client.get(f"/v1/apps/{wn.app_id}")).json()
        assert shown["in_doubt"] == "resend"
        changed = await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"in_doubt": "fail"})
        assert (changed.status_code, changed.json()["in_doubt"]) == (200, "fail")
        wrong = await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"in_doubt": "maybe"})
        assert wrong.status_code == 400
        assert wrong.json()["error"]["field"] == "in_doubt"
        reset = await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"in_doubt": None})
        assert reset.json()["in_doubt"] == "resend"
