"""The dispatcher's retry and failure rules, with the in-memory gateway, on both backends."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from tests.support.harness import fast_settings

from wanode.cli.bootstrap import ensure_defaults
from wanode.engine import Engine, Gateways
from wanode.gateway import Gateway, GatewayError, MemoryGateway, Rejected
from wanode.messages import Text, render_payload
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import messages as outbox

pytestmark = pytest.mark.asyncio


class Fixed(Gateways):
    def __init__(self, gateway: Gateway, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = gateway

    def for_app(self, app: dict[str, Any]) -> Gateway:
        return self.gateway


async def queue(db: Database, app_id: str, *, expires_at: float | None = None) -> str:
    transid = str(uuid.uuid4())
    async with db.begin() as conn:
        await outbox.enqueue(
            conn,
            [
                {
                    "transid": transid,
                    "app_id": app_id,
                    "wa_id": "4915112345678",
                    "destination": "4915112345678",
                    "destination_type": "waid",
                    "kind": "text",
                    "payload": render_payload(Text("hi"), "4915112345678"),
                    "notify_url": "http://127.0.0.1:9/dr",
                    "expires_at": expires_at,
                }
            ],
            at=1000.0,
        )
    return transid


async def test_retryable_then_permanent_failures(db: Database) -> None:
    now = [1000.0]
    memory = MemoryGateway()
    settings = fast_settings(db, dispatch_backoff_base=10, dispatch_max_attempts=3)
    engine = Engine(db, settings, Fixed(memory, settings), clock=lambda: now[0])
    app = (await ensure_defaults(db, gateway="cloud")).app
    try:
        retried = await queue(db, app["id"])
        memory.script.extend(
            [Rejected(130429, "Rate limit hit", "slow down", 400, True), GatewayError("refused")]
        )
        assert await engine.dispatcher.run_once() == 1
        assert await engine.dispatcher.run_once() == 0  # backing off, not due yet
        now[0] += 13
        assert await engine.dispatcher.run_once() == 1
        now[0] += 30
        assert await engine.dispatcher.run_once() == 1
        async with db.begin() as conn:
            message = await outbox.get(conn, retried)
        assert message is not None and message["status"] == "submitted" and message["attempts"] == 3

        failed = await queue(db, app["id"])
        memory.script.append(
            Rejected(131026, "Message Undeliverable", "not on WhatsApp", 400, False)
        )
        await engine.dispatcher.run_once()
        async with db.begin() as conn:
            message = await outbox.get(conn, failed)
            reports = await outbox.deliveries(conn, failed)
        assert message is not None and (message["status"], message["error_code"]) == (
            "failed",
            131026,
        )
        info = reports[-1]["body"]["deliveryInfoNotification"]["deliveryInfo"]
        assert (info["code"], info["deliveryStatus"]) == ("7871", "Failed")
        assert info["additionalInfo"] == "(#131026)  | not on WhatsApp"

        exhausted = await queue(db, app["id"])
        memory.script.extend([GatewayError("down")] * 3)
        for _ in range(3):
            now[0] += 400
            await engine.dispatcher.run_once()
        async with db.begin() as conn:
            message = await outbox.get(conn, exhausted)
            reports = await outbox.deliveries(conn, exhausted)
        assert message is not None and message["status"] == "failed"
        assert reports[-1]["body"]["deliveryInfoNotification"]["deliveryInfo"]["code"] == "7010"

        expired = await queue(db, app["id"], expires_at=now[0] - 1)
        sent_before = len(memory.sent)
        await engine.dispatcher.run_once()
        async with db.begin() as conn:
            message = await outbox.get(conn, expired)
            reports = await outbox.deliveries(conn, expired)
        assert message is not None and message["status"] == "failed"
        assert reports[-1]["body"]["deliveryInfoNotification"]["deliveryInfo"]["code"] == "7705"
        assert len(memory.sent) == sent_before
    finally:
        await engine.notify_client.aclose()


async def test_a_batch_of_sends_reads_its_app_once_and_again_once_forgotten(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = MemoryGateway()
    settings = fast_settings(db)
    engine = Engine(db, settings, Fixed(memory, settings), clock=lambda: 1000.0)
    app = (await ensure_defaults(db, gateway="cloud")).app
    reads: list[str] = []
    read_app = app_queries.get_app

    async def counted(conn: Any, app_id: str) -> dict[str, Any] | None:
        reads.append(app_id)
        return await read_app(conn, app_id)

    # A spy: each read still goes to the database.
    monkeypatch.setattr(app_queries, "get_app", counted)
    try:
        for _ in range(30):
            await queue(db, app["id"])
        assert await engine.dispatcher.run_once() == 30
        assert len(memory.sent) == 30
        assert reads == [app["id"]]
        # An API change to the app: the next send reads it again, once.
        engine.dispatcher.forget_app(app["id"])
        for _ in range(5):
            await queue(db, app["id"])
        assert await engine.dispatcher.run_once() == 5
        assert reads == [app["id"], app["id"]]
    finally:
        await engine.notify_client.aclose()
