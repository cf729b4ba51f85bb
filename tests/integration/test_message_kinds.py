"""Every non-template message kind goes API -> sandbox handset -> DRs, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.support.harness import running
from tests.support.receiver import receiver

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"

KINDS: dict[str, tuple[dict[str, Any], str]] = {
    "text": ({"type": "text", "text": {"body": "hi", "preview_url": True}}, "text"),
    "image": (
        {"type": "image", "image": {"url": "https://example.org/a.jpg", "caption": "A"}},
        "image",
    ),
    "audio": ({"type": "audio", "audio": {"url": "https://example.org/a.mp3"}}, "audio"),
    "video": ({"type": "video", "video": {"url": "https://example.org/a.mp4"}}, "video"),
    "document": (
        {
            "type": "document",
            "document": {"url": "https://example.org/a.pdf", "filename": "invoice.pdf"},
        },
        "document",
    ),
    "sticker": ({"type": "sticker", "sticker": {"url": "https://example.org/s.webp"}}, "sticker"),
    "location": (
        {
            "type": "location",
            "location": {"latitude": 52.52, "longitude": 13.405, "name": "Berlin"},
        },
        "location",
    ),
    "contacts": (
        {
            "type": "contacts",
            "contacts": [
                {
                    "name": {"formatted_name": "Ada Lovelace", "first_name": "Ada"},
                    "phones": [{"phone": "+44 20 7946 0000", "type": "WORK"}],
                }
            ],
        },
        "contacts",
    ),
    "list": (
        {
            "type": "list",
            "list": {
                "body": {"text": "Pick a slot"},
                "action": {
                    "button": "Slots",
                    "sections": [
                        {
                            "title": "Monday",
                            "rows": [{"id": "s1", "title": "9:00"}, {"id": "s2", "title": "10:00"}],
                        }
                    ],
                },
            },
        },
        "interactive",
    ),
    "reply": (
        {
            "type": "reply",
            "reply": {
                "body": {"text": "Confirm?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "YES", "title": "Yes"}},
                        {"type": "reply", "reply": {"id": "NO", "title": "No"}},
                    ]
                },
            },
        },
        "interactive",
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_kind_end_to_end(db: Database, kind: str) -> None:
    wa, cloud_type = KINDS[kind]
    async with receiver() as dr, running(db) as wn:
        response = await wn.client.post(
            "/resources/v1/messaging",
            json={
                "appid": wn.app_id,
                "deliverychannel": "whatsapp",
                "destination": [{"waid": [HANDSET]}],
                "channels": {"OTT-Messaging": {"wa": wa}},
                "notifyurl": f"{dr.url}/dr",
            },
        )
        assert response.status_code == 200, response.text
        transid = response.json()["response"][0]["transid"]
        message = await wn.wait_status(transid, "read")
        assert message["payload"]["type"] == cloud_type
        inbox = (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json()
        assert [m["type"] for m in inbox] == [cloud_type]
        codes = [
            r.json()["deliveryInfoNotification"]["deliveryInfo"]["code"]
            for r in await dr.wait_for(3)
        ]
        assert codes == ["7501", "7500", "7502"]


async def test_limit_breach_names_the_field(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        wa = copy.deepcopy(KINDS["list"][0])
        wa["list"]["action"]["sections"][0]["rows"][0]["description"] = "d" * 73
        response = await wn.client.post(
            "/resources/v1/messaging",
            json={
                "appid": wn.app_id,
                "deliverychannel": "whatsapp",
                "destination": [{"waid": [HANDSET]}],
                "channels": {"OTT-Messaging": {"wa": wa}},
            },
        )
        assert response.status_code == 400
        body = response.json()["response"]
        assert body["code"] == "7004"
        assert (
            body["field"] == "channels.OTT-Messaging.wa.list.action.sections[0].rows[0].description"
        )
