"""Each kind of injected sandbox fault, met by a send over loopback HTTP, is retried and the
message ends read, once on the handset: errors with the backoff, timeouts and resets as
ambiguous attempts repeated with the same idempotency key."""

from __future__ import annotations

import asyncio
import time

import pytest
from tests.integration.test_ambiguous_timeouts import TO, queue_text
from tests.support.harness import running
from tests.support.receiver import free_port, serve_app

from wanode.sandbox.faults import FAULT_KINDS
from wanode.store import Database
from wanode.store import apps as app_queries

pytestmark = pytest.mark.asyncio

# What the message keeps as its last error after the faulty attempt.
LAST_ERROR = {
    "server_error": (131000, "Something went wrong"),
    "unavailable": (2, "API Service"),
    "rate_limit": (130429, "Rate limit hit"),
    "timeout_before": (None, "GatewayError"),
    "timeout_after": (None, "GatewayError"),
    "reset_before": (None, "GatewayError"),
    "reset_after": (None, "GatewayError"),
}


@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_every_fault_is_retried_and_the_message_arrives_once(db: Database, kind: str) -> None:
    port = free_port()
    async with running(db, gateway_timeout=1.0) as wn, serve_app(wn.sandbox.app, port):
        async with db.begin() as conn:
            await app_queries.update_app(conn, wn.app_id, graph_base_url=f"http://127.0.0.1:{port}")
        wn.ctx.engine.dispatcher.forget_app(wn.app_id)
        faults = wn.sandbox.faults
        faults.configure(1.0, kind, seed=1, hang=2.0)

        transid = await queue_text(wn, wn.app_id)
        deadline = time.monotonic() + 10
        while not faults.injected[kind]:
            assert time.monotonic() < deadline, "the send never reached the sandbox"
            await asyncio.sleep(0.002)
        faults.configure(0.0)
        read = await wn.wait_status(transid, "read", timeout=30)

    handset = wn.sandbox.handsets.get(TO)
    assert [entry.wamid for entry in handset.inbox] == [read["wamid"]]
    assert read["attempts"] >= 2
    # The sandbox honours the idempotency key: a repeat is not a duplicate there.
    assert read["possiblyDuplicated"] is False
    code, title = LAST_ERROR[kind]
    assert (read["error"]["code"], read["error"]["title"]) == (code, title), read["error"]
    replays = wn.sandbox.receive_log.replays(None)
    if kind in ("timeout_after", "reset_after"):
        assert [r.wamid for r in replays] == [read["wamid"]]
    else:
        assert replays == []
