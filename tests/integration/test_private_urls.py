"""Notify and subscriber URLs on private addresses: refused unless allowed (the sandbox, the
default of `wanode serve`, allows them for local development)."""

from __future__ import annotations

import pytest
from tests.support.harness import running

from wanode.store import Database

pytestmark = pytest.mark.asyncio


async def test_private_urls_refused_without_the_sandbox_allowance(db: Database) -> None:
    async with running(db, start_engine=False, allow_private_urls=False) as wn:
        sent = await wn.send_text("4915112345678", "x", notifyurl="http://169.254.169.254/dr")
        assert sent.status_code == 400
        error = sent.json()["response"]
        assert error["field"] == "notifyurl"
        assert "non-public address 169.254.169.254" in error["description"]
        assert "WANODE_ALLOW_PRIVATE_URLS" in error["description"]

        app = await wn.client.patch(
            f"/v1/apps/{wn.app_id}", json={"notify_url": "http://10.0.0.1/"}
        )
        assert app.status_code == 400 and app.json()["error"]["field"] == "notify_url"

        sub = await wn.client.post("/v1/subscriptions", json={"url": "http://localhost:9/in"})
        assert sub.status_code == 400 and sub.json()["error"]["field"] == "url"


async def test_private_urls_allowed_with_the_sandbox(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        assert wn.ctx.settings.private_urls_allowed()
        sent = await wn.send_text("4915112345678", "x", notifyurl="http://127.0.0.1:9/dr")
        assert sent.status_code == 200
