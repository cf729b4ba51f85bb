"""The handset and number API, inbound messages, and the app mounted inside another app."""

from __future__ import annotations

import asyncio
import re

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from tests.sandbox.bench import FAST, NUMBER, USER, Bench, Receiver, text_payload

from wanode.sandbox import Sandbox, SandboxConfig
from wanode.sandbox.rules.bsuid import user_id


async def test_a_handset_sends_a_text_to_the_business(bench: Bench) -> None:
    await bench.client.put(f"/handsets/{USER}", json={"name": "Sheena Nelson"})

    response = await bench.client.post(
        f"/handsets/{USER}/send",
        json={"phone_number_id": NUMBER.phone_number_id, "text": "Does it come in blue?"},
    )
    await bench.settle()

    assert response.status_code == 201
    wamid = response.json()["id"]
    assert wamid.startswith("wamid.")
    [value] = bench.receiver.values()
    # The identity-change check is off by default, as at Meta: no hash in the contact. The
    # business-scoped user id is there (Meta's `user_id`, since 2026).
    assert value["contacts"] == [
        {
            "profile": {"name": "Sheena Nelson"},
            "wa_id": USER,
            "user_id": user_id(USER, NUMBER.waba_id),
        }
    ]
    [message] = value["messages"]
    assert message == {
        "from": USER,
        "id": wamid,
        "timestamp": message["timestamp"],
        "type": "text",
        "text": {"body": "Does it come in blue?"},
    }
    assert message["timestamp"].isdigit()


async def test_a_quoted_reply_names_the_business_message(bench: Bench) -> None:
    wamid = (await bench.send()).json()["messages"][0]["id"]
    await bench.settle()

    response = await bench.client.post(
        f"/handsets/{USER}/send",
        json={"phone_number_id": NUMBER.phone_number_id, "text": "yes", "reply_to": wamid},
    )
    await bench.settle()

    assert response.status_code == 201
    message = bench.receiver.values()[-1]["messages"][0]
    assert message["context"] == {"from": NUMBER.display_phone_number, "id": wamid}


async def test_handset_send_refusals(bench: Bench) -> None:
    url = f"/handsets/{USER}/send"
    unknown = await bench.client.post(url, json={"phone_number_id": "1", "text": "x"})
    assert unknown.status_code == 404
    assert "1" in unknown.json()["error"]["message"]
    empty = await bench.client.post(url, json={"phone_number_id": NUMBER.phone_number_id})
    assert empty.status_code == 400
    stray = await bench.client.post(
        url, json={"phone_number_id": NUMBER.phone_number_id, "text": "x", "reply_to": "wamid.x"}
    )
    assert stray.status_code == 400

    await bench.client.put(f"/handsets/{USER}", json={"exists": False})
    ghost = await bench.client.post(
        url, json={"phone_number_id": NUMBER.phone_number_id, "text": "x"}
    )
    assert ghost.status_code == 409


async def test_the_inbox_lists_received_messages_newest_last(bench: Bench) -> None:
    first = (await bench.send(text_payload("first"))).json()["messages"][0]["id"]
    second = (await bench.send(text_payload("second", to=f"+{USER}"))).json()["messages"][0]["id"]
    await bench.settle()

    inbox = (await bench.client.get(f"/handsets/+{USER}/messages")).json()

    assert [entry["id"] for entry in inbox] == [first, second]
    entry = inbox[0]
    assert entry["from"] == NUMBER.display_phone_number
    assert entry["phone_number_id"] == NUMBER.phone_number_id
    assert entry["type"] == "text"
    assert entry["text"] == "first"
    assert entry["payload"] == text_payload("first")
    assert entry["status"] == "read"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*\+00:00", entry["timestamp"])
    assert "context" not in entry


async def test_an_unknown_handset_has_an_empty_inbox_and_no_state(bench: Bench) -> None:
    assert (await bench.client.get("/handsets/4915112345678/messages")).json() == []
    assert (await bench.client.get("/handsets/4915112345678")).status_code == 404
    assert (await bench.client.get("/handsets/abc")).status_code == 400


async def test_a_handset_is_configured_partially(bench: Bench) -> None:
    created = await bench.client.put(f"/handsets/{USER}", json={"reads": False, "read_delay": 3})

    assert created.status_code == 200
    state = (await bench.client.get(f"/handsets/{USER}")).json()
    assert state == created.json()
    assert state["reads"] is False
    assert state["read_delay"] == 3
    assert state["sent_delay"] == FAST.sent_delay
    assert state["online"] is True and state["exists"] is True
    assert state["wa_id"] == USER
    assert state["identity_key_hash"]


async def test_bad_handset_settings_are_refused(bench: Bench) -> None:
    for settings in ({"reads": "no"}, {"sent_delay": -1}, {"volume": 11}, {"name": ""}):
        response = await bench.client.put(f"/handsets/{USER}", json=settings)
        assert response.status_code == 400, settings
        assert response.json()["error"]["message"]
    assert (await bench.client.put(f"/handsets/{USER}", content=b"[")).status_code == 400
    assert (await bench.client.get(f"/handsets/{USER}")).status_code == 404


async def test_rotating_the_identity_changes_the_hash(bench: Bench) -> None:
    hashes = {(await bench.client.post(f"/handsets/{USER}/identity")).json()["identity_key_hash"]}
    hashes.add((await bench.client.post(f"/handsets/{USER}/identity")).json()["identity_key_hash"])
    current = (await bench.client.get(f"/handsets/{USER}")).json()["identity_key_hash"]

    assert len(hashes) == 2
    assert current in hashes


async def test_numbers_are_listed_without_credentials(bench: Bench) -> None:
    numbers = (await bench.client.get("/numbers")).json()

    assert numbers == [
        {
            "phone_number_id": NUMBER.phone_number_id,
            "waba_id": NUMBER.waba_id,
            "display_phone_number": NUMBER.display_phone_number,
            "webhook_url": NUMBER.webhook_url,
        }
    ]


async def test_a_number_is_provisioned_over_http(bench: Bench) -> None:
    fields = {
        "phone_number_id": "200",
        "waba_id": "300",
        "display_phone_number": "15550001111",
        "access_token": "tok-200",
        "app_secret": "secret-200",
    }
    created = await bench.client.post("/numbers", json=fields)
    again = await bench.client.post("/numbers", json={**fields, "access_token": "tok-201"})

    assert created.status_code == again.status_code == 201
    assert "access_token" not in created.text and "secret" not in created.text
    assert len((await bench.client.get("/numbers")).json()) == 2
    old = await bench.client.post(
        "/v23.0/200/messages", json=text_payload("hi"), headers={"Authorization": "Bearer tok-200"}
    )
    assert old.status_code == 401
    new = await bench.client.post(
        "/v23.0/200/messages", json=text_payload("hi"), headers={"Authorization": "Bearer tok-201"}
    )
    assert new.status_code == 200
    refused = await bench.client.post("/numbers", json={"phone_number_id": "1"})
    assert refused.status_code == 400


async def test_the_sandbox_works_mounted_under_a_prefix(receiver: Receiver) -> None:
    config = SandboxConfig(default_handset=FAST, enforce_window=False)
    sandbox = Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app))
    sandbox.provision(NUMBER)
    parent = Starlette(routes=[Mount("/sandbox", app=sandbox.app)])
    transport = httpx.ASGITransport(app=parent)
    async with httpx.AsyncClient(transport=transport, base_url="http://wanode") as client:
        sent = await client.post(
            f"/sandbox/v23.0/{NUMBER.phone_number_id}/messages",
            json=text_payload("hi"),
            headers={"Authorization": "Bearer tok"},
        )
        await asyncio.wait_for(sandbox.drain(), timeout=5)
        inbox = await client.get(f"/sandbox/handsets/{USER}/messages")
        numbers = await client.get("/sandbox/numbers")
        unmounted = await client.get("/numbers")
    await sandbox.aclose()

    assert sent.status_code == 200
    assert [entry["status"] for entry in inbox.json()] == ["read"]
    assert numbers.status_code == 200
    assert unmounted.status_code == 404
    assert len(receiver.statuses()) == 3
