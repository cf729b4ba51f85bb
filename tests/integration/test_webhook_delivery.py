"""Status webhooks as WhatsApp really delivers them: late, out of order, twice, or forged.

The handset is offline, so the sandbox itself sends only `sent`; the test then plays WhatsApp,
posting signed webhooks for the message's wamid straight to `/webhooks/whatsapp`.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import receiver

from wanode.sandbox.webhooks.delivery import sign
from wanode.store import Database
from wanode.store.tables import webhook_statuses

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


def _status_webhook(wn: Harness, wamid: str, status: str, at: int) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": wn.app["waba_id"],
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": wn.app["display_phone_number"],
                                "phone_number_id": wn.app["phone_number_id"],
                            },
                            "statuses": [
                                {
                                    "id": wamid,
                                    "status": status,
                                    "timestamp": str(at),
                                    "recipient_id": HANDSET,
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


async def _post(wn: Harness, body: dict[str, Any], secret: str | None = None) -> int:
    raw = orjson.dumps(body)
    signature = sign(raw, secret if secret is not None else wn.app["app_secret"])
    response = await wn.client.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    return response.status_code


async def test_out_of_order_twice_and_forged(db: Database) -> None:
    async with receiver() as dr, running(db) as wn:
        await wn.client.put(f"/sandbox/handsets/{HANDSET}", json={"online": False})
        sent = await wn.send_text(HANDSET, "Your table is ready", notifyurl=f"{dr.url}/dr")
        transid = sent.json()["response"][0]["transid"]
        message = await wn.wait_status(transid, "sent")
        wamid, now = message["wamid"], int(time.time())

        # Forged: a wrong secret is refused and changes nothing.
        assert await _post(wn, _status_webhook(wn, wamid, "read", now + 5), "not-the-secret") == 401
        # Read arrives before delivered, and read arrives twice.
        for status, at in [("read", now + 5), ("read", now + 5)]:
            assert await _post(wn, _status_webhook(wn, wamid, status, at)) == 200
        # `delivered` comes once `read` is applied (in one batch, statuses are applied in
        # the order they occurred, which would put `delivered` first).
        await wn.wait_status(transid, "read")
        assert await _post(wn, _status_webhook(wn, wamid, "delivered", now + 2)) == 200

        async def settled() -> dict[str, Any]:
            await wn.ctx.engine.run_until_idle()
            return await wn.message(transid)

        message = await wait_until(
            settled,
            lambda m: [h["status"] for h in m["history"]][-1:] == ["delivered"],
            timeout=5,
            what="both statuses applied",
        )
        assert message["status"] == "read"  # a late `delivered` never downgrades `read`
        statuses = [h["status"] for h in message["history"]]
        assert statuses == ["queued", "submitted", "sent", "read", "delivered"]
        reports = [
            r.json()["deliveryInfoNotification"]["deliveryInfo"] for r in await dr.wait_for(3)
        ]
        # `read` implies the delivery: its 7500 comes first, dated with the read.
        assert [r["code"] for r in reports] == ["7501", "7500", "7502"]
        assert reports[1]["timeStamp"] == reports[2]["timeStamp"]
        assert len(dr.requests) == 3  # no DR for the duplicate or for the late `delivered`


async def test_status_before_its_message_is_known_waits(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        now = int(time.time())
        assert await _post(wn, _status_webhook(wn, "wamid.unknown-yet", "delivered", now)) == 200
        assert await _post(wn, {"object": "whatsapp_business_account", "entry": "x"}) == 400
        await wn.ctx.engine.run_until_idle()
        async with wn.ctx.db.begin() as conn:
            count = sa.select(sa.func.count()).select_from(webhook_statuses)
            stored = (await conn.execute(count)).scalar()
        # Nothing can apply it yet; it waits (until `orphan_status_ttl`) instead of being lost.
        assert stored == 1
