"""Each accepted message's status webhooks: order, content, and the handset behaviours that
change them."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.sandbox.bench import NUMBER, USER, Bench, text_payload


async def configure(bench: Bench, **settings: Any) -> dict[str, Any]:
    response = await bench.client.put(f"/handsets/{USER}", json=settings)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


async def inbox(bench: Bench) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = (await bench.client.get(f"/handsets/{USER}/messages")).json()
    return result


async def test_statuses_arrive_sent_delivered_read_in_order(bench: Bench) -> None:
    wamid = (await bench.send(text_payload("hi"))).json()["messages"][0]["id"]
    await bench.settle()

    statuses = bench.receiver.statuses(wamid)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    handset = (await bench.client.get(f"/handsets/{USER}")).json()
    for item in statuses:
        assert item["recipient_id"] == USER
        # The identity-change check is off by default, as at Meta: no hash in statuses.
        assert "recipient_identity_key_hash" not in item
        assert handset["identity_key_hash"]
        assert item["timestamp"].isdigit()
        assert "biz_opaque_callback_data" not in item
    sent, delivered, read = statuses
    assert sent["pricing"] == {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
        "category": "service",
    }
    assert sent["conversation"]["origin"] == {"type": "service"}
    assert int(sent["conversation"]["expiration_timestamp"]) > int(sent["timestamp"])
    assert delivered["conversation"]["id"] == sent["conversation"]["id"]
    assert "expiration_timestamp" not in delivered["conversation"]
    assert "pricing" not in read and "conversation" not in read
    [entry] = await inbox(bench)
    assert entry["status"] == "read"


async def test_the_webhook_envelope_names_the_business(bench: Bench) -> None:
    await bench.send()
    await bench.settle()

    body = bench.receiver.bodies[0]
    assert body["object"] == "whatsapp_business_account"
    [entry] = body["entry"]
    assert entry["id"] == NUMBER.waba_id
    [change] = entry["changes"]
    assert change["field"] == "messages"
    assert change["value"]["messaging_product"] == "whatsapp"
    assert change["value"]["metadata"] == {
        "display_phone_number": NUMBER.display_phone_number,
        "phone_number_id": NUMBER.phone_number_id,
    }


async def test_api_versions_from_v24_omit_the_conversation(bench: Bench) -> None:
    await bench.client.post(
        f"/v24.0/{NUMBER.phone_number_id}/messages",
        json=text_payload("hi"),
        headers={"Authorization": "Bearer tok"},
    )
    await bench.settle()

    assert all("conversation" not in s for s in bench.receiver.statuses())
    assert "pricing" in bench.receiver.statuses()[0]


async def test_callback_data_is_echoed_and_context_kept(bench: Bench) -> None:
    payload = text_payload(
        "hi", biz_opaque_callback_data="order-42", context={"message_id": "wamid.earlier"}
    )
    await bench.send(payload)
    await bench.settle()

    assert {s["biz_opaque_callback_data"] for s in bench.receiver.statuses()} == {"order-42"}
    [entry] = await inbox(bench)
    assert entry["context"] == {"message_id": "wamid.earlier"}


async def test_messages_to_one_handset_keep_their_own_order(bench: Bench) -> None:
    wamids = [
        (await bench.send(text_payload(str(n)))).json()["messages"][0]["id"] for n in range(5)
    ]
    await bench.settle()

    for wamid in wamids:
        assert [s["status"] for s in bench.receiver.statuses(wamid)] == [
            "sent",
            "delivered",
            "read",
        ]
    assert [entry["id"] for entry in await inbox(bench)] == wamids


async def test_a_handset_that_never_reads_gets_no_read(bench: Bench) -> None:
    await configure(bench, reads=False)
    wamid = (await bench.send()).json()["messages"][0]["id"]
    await bench.settle()

    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent", "delivered"]
    [entry] = await inbox(bench)
    assert entry["status"] == "delivered"


async def test_an_offline_handset_gets_delivered_and_read_when_it_comes_back(bench: Bench) -> None:
    await configure(bench, online=False)
    wamid = (await bench.send()).json()["messages"][0]["id"]
    await bench.settle()

    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent"]
    [entry] = await inbox(bench)
    assert entry["status"] == "sent"
    assert (await bench.client.get(f"/handsets/{USER}")).json()["waiting"] == 1

    await configure(bench, online=True)
    await bench.settle()

    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent", "delivered", "read"]
    [entry] = await inbox(bench)
    assert entry["status"] == "read"


async def test_a_handset_going_offline_before_reading_reads_later(bench: Bench) -> None:
    await configure(bench, delivered_delay=0.0, read_delay=0.1)
    wamid = (await bench.send()).json()["messages"][0]["id"]
    await bench.receiver.wait_for_statuses(wamid, 2)
    await configure(bench, online=False)
    await bench.settle()
    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent", "delivered"]

    await configure(bench, online=True)
    await bench.settle()

    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent", "delivered", "read"]


async def test_an_identity_hash_mismatch_fails_with_137000(bench: Bench) -> None:
    await configure(bench)
    await bench.identity_check()
    stale = (await bench.client.get(f"/handsets/{USER}")).json()["identity_key_hash"]
    rotated = (await bench.client.post(f"/handsets/{USER}/identity")).json()["identity_key_hash"]
    assert rotated != stale

    response = await bench.send(text_payload("hi", recipient_identity_key_hash=stale))
    await bench.settle()

    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    [failed] = bench.receiver.statuses(wamid)
    assert failed["status"] == "failed"
    assert failed["recipient_identity_key_hash"] == rotated
    [error] = failed["errors"]
    assert error["code"] == 137000
    assert error["title"] == error["message"] == "Identity key hash mismatch"
    assert error["error_data"]["details"]
    assert error["href"].startswith("/docs/whatsapp/")
    [entry] = await inbox(bench)
    assert entry["status"] == "failed"
    assert entry["error"]["code"] == 137000


async def test_the_current_identity_hash_is_delivered(bench: Bench) -> None:
    await configure(bench)
    current = (await bench.client.get(f"/handsets/{USER}")).json()["identity_key_hash"]

    await bench.send(text_payload("hi", recipient_identity_key_hash=current))
    await bench.settle()

    assert [s["status"] for s in bench.receiver.statuses()] == ["sent", "delivered", "read"]


async def test_a_number_not_on_whatsapp_fails_with_131026(bench: Bench) -> None:
    await configure(bench, exists=False)

    response = await bench.send()
    await bench.settle()

    assert response.status_code == 200
    [failed] = bench.receiver.statuses()
    assert failed["status"] == "failed"
    assert failed["errors"][0]["code"] == 131026
    assert failed["errors"][0]["title"] == "Message Undeliverable"


async def test_a_reaction_gets_only_sent(bench: Bench) -> None:
    target = (await bench.send(text_payload("hi"))).json()["messages"][0]["id"]
    await bench.settle()
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": "reaction",
        "reaction": {"message_id": target, "emoji": "\N{THUMBS UP SIGN}"},
    }
    wamid = (await bench.send(payload)).json()["messages"][0]["id"]
    await bench.settle()

    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent"]


async def test_aclose_cancels_pending_timers(bench: Bench) -> None:
    await configure(bench, sent_delay=30.0)
    await bench.send()

    await asyncio.wait_for(bench.sandbox.aclose(), timeout=1)

    assert bench.receiver.statuses() == []
