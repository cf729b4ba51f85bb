"""The Messaging API end to end in-process: API -> outbox -> dispatcher -> sandbox -> webhooks
-> status processor -> DRs, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from tests.support.harness import running, wait_until
from tests.support.receiver import receiver

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


async def test_text_goes_to_the_handset_and_reports_every_status(db: Database) -> None:
    async with receiver() as dr, running(db) as wn:
        response = await wn.send_text(
            "+49 151 1234-5678",
            "Your table is ready",
            notifyurl=f"{dr.url}/dr",
            correlationid="order-42",
            callbackData="flow=demo",
        )
        assert response.status_code == 200
        [queued] = response.json()["response"]
        assert queued["code"] == "1001" and queued["description"] == "Queued"
        transid = queued["transid"]

        message = await wn.wait_status(transid, "read")
        assert [h["status"] for h in message["history"]] == [
            "queued",
            "submitted",
            "sent",
            "delivered",
            "read",
        ]
        assert message["wamid"].startswith("wamid.")
        assert message["waid"] == HANDSET

        inbox = (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json()
        assert [m["text"] for m in inbox] == ["Your table is ready"]

        reports = [r.json()["deliveryInfoNotification"] for r in await dr.wait_for(3)]
        assert [r["deliveryInfo"]["code"] for r in reports] == ["7501", "7500", "7502"]
        assert [r["deliveryInfo"]["deliveryStatus"] for r in reports] == [
            "Submitted",
            "Delivered",
            "Read",
        ]
        first = reports[0]
        assert first["transid"] == transid
        assert first["correlationid"] == "order-42"
        assert first["callbackData"] == "flow=demo"
        assert first["deliveryInfo"]["waid"] == HANDSET
        assert first["deliveryInfo"]["Description"] == "Submitted"
        assert reports[1]["deliveryInfo"]["identityKeyHash"]


async def test_many_destinations_each_get_a_transid(db: Database) -> None:
    numbers = [f"49151000{i:05d}" for i in range(25)]
    async with running(db) as wn:
        response = await wn.send_text(numbers, "Hi all")
        items = response.json()["response"]
        assert len(items) == 25 and len({i["transid"] for i in items}) == 25
        for item in items:
            await wn.wait_status(item["transid"], "read")
        inbox = (await wn.client.get(f"/sandbox/handsets/{numbers[7]}/messages")).json()
        assert inbox[-1]["text"] == "Hi all"


async def test_identity_hash_mismatch_fails_with_7862(db: Database) -> None:
    async with receiver() as dr, running(db) as wn:
        payload = {
            "appid": wn.app_id,
            "deliverychannel": "whatsapp",
            "destination": [{"waid": [HANDSET]}],
            "channels": {
                "OTT-Messaging": {
                    "wa": {
                        "type": "text",
                        "text": {"body": "Your code is 1234"},
                        "identity_key_hash": "not-the-current-hash",
                    }
                }
            },
            "notifyurl": f"{dr.url}/dr",
        }
        response = await wn.client.post("/resources/v1/messaging", json=payload)
        transid = response.json()["response"][0]["transid"]
        message = await wn.wait_status(transid, "failed")
        assert message["error"]["code"] == 137000
        reports = [
            r.json()["deliveryInfoNotification"]["deliveryInfo"] for r in await dr.wait_for(2)
        ]
        assert reports[-1]["code"] == "7862"
        assert reports[-1]["deliveryStatus"] == "Failed"
        assert reports[-1]["additionalInfo"].startswith("(#137000)  | ")
        assert message["payload"]["recipient_identity_key_hash"] == "not-the-current-hash"


async def test_refused_notify_url_is_retried_then_given_up_and_the_message_still_goes(
    db: Database,
) -> None:
    from tests.support.receiver import free_port

    dead = f"http://127.0.0.1:{free_port()}/dr"
    async with running(db, notify_retries=2) as wn:
        transid = (await wn.send_text(HANDSET, notifyurl=dead)).json()["response"][0]["transid"]
        await wn.wait_status(transid, "read")
        message = await wait_until(
            lambda: wn.message(transid),
            lambda m: (
                len(m["deliveryReports"]) == 3
                and all(d["state"] == "given_up" for d in m["deliveryReports"])
            ),
            timeout=10,
            what="DRs to be given up",
        )
        first = message["deliveryReports"][0]
        assert first["attempts"] == 3  # the first try and notify_retries=2 retries
        assert "ConnectError" in first["lastError"]


async def test_notify_receiver_error_then_success_is_retried(db: Database) -> None:
    async with receiver() as dr, running(db) as wn:
        dr.responses = [503, 500]
        transid = (await wn.send_text(HANDSET, notifyurl=f"{dr.url}/dr")).json()["response"][0][
            "transid"
        ]
        await wn.wait_status(transid, "read")
        requests = await dr.wait_for(5)
        codes = [r.json()["deliveryInfoNotification"]["deliveryInfo"]["code"] for r in requests]
        assert codes == ["7501", "7501", "7501", "7500", "7502"]


async def test_accepted_messages_survive_a_restart(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        items = (await wn.send_text([f"4917000000{i:03d}" for i in range(20)])).json()["response"]
        app_id = wn.app_id
    # A new process over the same database: the outbox still holds every accepted message.
    async with running(db) as wn:
        assert wn.app_id == app_id
        for item in items:
            await wn.wait_status(item["transid"], "read")


async def test_app_default_notify_url_is_used(db: Database) -> None:
    async with receiver() as dr, running(db) as wn:
        created = await wn.client.post(
            "/v1/apps",
            json={
                "phone_number_id": "123456789012345",
                "waba_id": "987654321",
                "access_token": "tok-123",
                "app_secret": "s3cret",
                "verify_token": "vt",
                "gateway": "sandbox",
                "notify_url": f"{dr.url}/app-default ",
            },
        )
        assert created.status_code == 201, created.text
        app = created.json()
        assert "access_token" not in app and "app_secret" not in app
        assert app["notify_url"] == f"{dr.url}/app-default"
        response = await wn.client.post(
            "/resources/v1/messaging",
            json={
                "appid": app["id"],
                "deliverychannel": "whatsapp",
                "destination": [{"waid": [HANDSET]}],
                "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "x"}}}},
            },
        )
        transid = response.json()["response"][0]["transid"]
        await wn.wait_status(transid, "read")
        requests = await dr.wait_for(3)
        assert {r.path for r in requests} == {"/app-default"}
        inbox = (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json()
        assert inbox[-1]["phone_number_id"] == "123456789012345"
