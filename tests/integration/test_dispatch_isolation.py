"""A gateway that hangs holds back only its own app's messages: the dispatcher's passes do not
wait for their sends, and each app has its own sending slots."""

from __future__ import annotations

import pytest
from tests.support.graph import cloud_app
from tests.support.harness import running
from tests.support.receiver import hanging_server

from wanode.store import Database

pytestmark = pytest.mark.asyncio


async def test_a_hanging_gateway_holds_back_only_its_own_app(db: Database) -> None:
    async with hanging_server() as graph, running(db, gateway_timeout=5.0) as wn:
        stuck_app = await cloud_app(wn, graph_base_url=graph)
        # The hanging app's messages are queued first and take all of its sending slots (its
        # timeouts and retries leave them queued).
        stuck = await wn.send_text([f"4917{i:09d}" for i in range(40)], "hi", appid=stuck_app)
        assert stuck.status_code == 200, stuck.text
        healthy = await wn.send_text([f"4915{i:09d}" for i in range(40)], "hi")
        for item in healthy.json()["response"]:
            await wn.wait_status(item["transid"], "read", timeout=20)
        for item in stuck.json()["response"]:
            assert (await wn.message(item["transid"]))["status"] == "queued"
