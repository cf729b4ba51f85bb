"""wanode's pacing against an honest peer: the sandbox enforcing WhatsApp's pair limit refuses
nothing, because wanode holds the 46th message to one customer until the limit allows it."""

from __future__ import annotations

from datetime import datetime

import pytest
from tests.support.harness import running

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


async def test_a_burst_to_one_customer_is_paced_not_refused(db: Database) -> None:
    async with running(db, sandbox_pair_limit=True) as wn:
        sent = await wn.send_text([HANDSET] * 46, "Your order update")
        transids = [item["transid"] for item in sent.json()["response"]]
        messages = [await wn.wait_status(t, "read", timeout=30) for t in transids]
        assert all(m["attempts"] == 1 for m in messages)  # no 131056 was ever answered
        submitted = sorted(
            datetime.fromisoformat(h["at"]).timestamp()
            for m in messages
            for h in m["history"]
            if h["status"] == "submitted"
        )
        # 45 go at once; the 46th waits for the pair's next slot, 6 seconds after the first.
        assert submitted[44] - submitted[0] < 3
        assert submitted[45] - submitted[0] >= 5.9
