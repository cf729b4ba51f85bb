"""Timeouts after a send was written are ambiguous: WhatsApp may have accepted it. They are
retried with the same idempotency key, bounded and recorded on the message; the sandbox
answers the repeat with the first wamid (the handset shows the message once), and on the
Cloud API, which ignores the key, the message is flagged possibly duplicated."""

from __future__ import annotations

import httpx
import pytest
from tests.support.graph import ACCEPTED, GRAPH, TO, cloud_app, graph_mock, queue_text
from tests.support.harness import Harness, running
from tests.support.receiver import free_port, serve_app

from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import messages as outbox

pytestmark = pytest.mark.asyncio

T0 = 1_000_000.0


async def dispatch_when_due(wn: Harness, now: list[float], transid: str) -> None:
    """Move the clock to the message's next attempt and run one dispatcher pass."""
    async with wn.ctx.db.begin() as conn:
        row = await outbox.get(conn, transid)
    assert row is not None
    now[0] = max(now[0], row["next_attempt_at"])
    assert await wn.ctx.engine.dispatcher.run_once() == 1


async def test_a_cloud_read_timeout_is_retried_and_flagged_possibly_duplicated(
    db: Database,
) -> None:
    now = [T0]
    with graph_mock() as (graph, transport):
        async with running(
            db, clock=lambda: now[0], start_engine=False, cloud_transport=transport
        ) as wn:
            app_id = await cloud_app(wn)
            transid = await queue_text(wn, app_id)
            route = graph.post(GRAPH).mock(
                side_effect=[
                    httpx.ReadTimeout("the answer never came"),
                    httpx.Response(200, json=ACCEPTED),
                ]
            )
            await dispatch_when_due(wn, now, transid)
            retrying = await wn.message(transid)
            assert (retrying["status"], retrying["attempts"]) == ("queued", 1)
            assert retrying["possiblyDuplicated"] is True
            assert retrying["error"] == {
                "code": None,
                "title": "GatewayError",
                "details": "gateway timed out after the request was sent",
            }

            await dispatch_when_due(wn, now, transid)
            sent = await wn.message(transid)
            assert (sent["status"], sent["attempts"], sent["wamid"]) == (
                "submitted",
                2,
                "wamid.CLOUD1",
            )
            # The flag stays: WhatsApp may hold two copies; the last error stays on record too.
            assert sent["possiblyDuplicated"] is True
            assert sent["error"]["title"] == "GatewayError"
            # Both attempts named the message the same way (Graph ignores it, but it is sent).
            keys = [call.request.headers.get("Idempotency-Key") for call in route.calls]
            assert keys == [transid, transid]


async def test_a_connect_timeout_is_retried_without_the_flag(db: Database) -> None:
    now = [T0]
    with graph_mock() as (graph, transport):
        async with running(
            db, clock=lambda: now[0], start_engine=False, cloud_transport=transport
        ) as wn:
            app_id = await cloud_app(wn)
            transid = await queue_text(wn, app_id)
            graph.post(GRAPH).mock(
                side_effect=[httpx.ConnectTimeout("no route"), httpx.Response(200, json=ACCEPTED)]
            )
            await dispatch_when_due(wn, now, transid)
            await dispatch_when_due(wn, now, transid)
            sent = await wn.message(transid)
            # Nothing reached WhatsApp the first time: no duplicate is possible.
            assert (sent["status"], sent["attempts"], sent["possiblyDuplicated"]) == (
                "submitted",
                2,
                False,
            )
            assert sent["error"]["details"] == "gateway unreachable: ConnectTimeout"


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        # A bare 5xx may come from a proxy after WhatsApp took the message: ambiguous.
        (httpx.Response(502, text="bad gateway"), True),
        # A Graph error object says WhatsApp did not take it: retried, not ambiguous.
        (
            httpx.Response(
                503,
                json={"error": {"message": "Service temporarily unavailable", "code": 2}},
            ),
            False,
        ),
    ],
)
async def test_5xx_and_timeouts_are_retried_a_bounded_number_of_times(
    db: Database, answer: httpx.Response, flagged: bool
) -> None:
    now = [T0]
    with graph_mock() as (graph, transport):
        async with running(
            db,
            clock=lambda: now[0],
            start_engine=False,
            dispatch_max_attempts=3,
            cloud_transport=transport,
        ) as wn:
            app_id = await cloud_app(wn)
            transid = await queue_text(wn, app_id)
            route = graph.post(GRAPH).mock(return_value=answer)
            due = []
            for _ in range(3):
                await dispatch_when_due(wn, now, transid)
                due.append((await wn.message(transid))["attempts"])
            assert route.call_count == 3
            assert due == [1, 2, 3]
            failed = await wn.message(transid)
            assert (failed["status"], failed["attempts"]) == ("failed", 3)
            assert failed["possiblyDuplicated"] is flagged
            assert failed["error"]["title"]
            # No fourth attempt: the message is done.
            now[0] += 3600
            assert await wn.ctx.engine.dispatcher.run_once() == 0


async def test_a_sandbox_timeout_after_acceptance_shows_the_message_once(db: Database) -> None:
    """The sandbox over loopback HTTP answers the first send late, after accepting it; the
    gateway gives up (read timeout), the retry carries the same key, the handset has one."""
    port = free_port()
    async with running(db, gateway_timeout=1.0) as wn, serve_app(wn.sandbox.app, port):
        async with db.begin() as conn:
            await app_queries.update_app(conn, wn.app_id, graph_base_url=f"http://127.0.0.1:{port}")
        wn.ctx.engine.dispatcher.forget_app(wn.app_id)
        wn.sandbox.faults.slow_answers(1, 5.0)

        transid = await queue_text(wn, wn.app_id)
        read = await wn.wait_status(transid, "read", timeout=30)

        handset = wn.sandbox.handsets.get(TO)
        assert [entry.wamid for entry in handset.inbox] == [read["wamid"]]
        assert read["attempts"] >= 2
        assert read["possiblyDuplicated"] is False
        assert read["error"]["details"] == "gateway timed out after the request was sent"
        assert [h["status"] for h in read["history"]] == [
            "queued",
            "submitted",
            "sent",
            "delivered",
            "read",
        ]
