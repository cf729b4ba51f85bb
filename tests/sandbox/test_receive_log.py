"""`GET /log`: every send the sandbox accepted, once, with its time and number; a refused send
and a replayed idempotency key add nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.sandbox.bench import NUMBER, USER, Bench, Clock, Receiver, text_payload
from tests.sandbox.test_rate_limits import limited_bench


@pytest.fixture
async def throttled(receiver: Receiver) -> AsyncIterator[Bench]:
    async with limited_bench(receiver, Clock(), throughput_mps=2) as bench:
        yield bench


async def test_the_log_lists_each_accepted_send_once(throttled: Bench) -> None:
    first = await throttled.send(text_payload("one"))
    replayed = await throttled.client.post(
        f"/v23.0/{NUMBER.phone_number_id}/messages",
        json=text_payload("two", to="16505550000"),
        headers={"Authorization": f"Bearer {NUMBER.access_token}", "Idempotency-Key": "k-1"},
    )
    again = await throttled.client.post(
        f"/v23.0/{NUMBER.phone_number_id}/messages",
        json=text_payload("two", to="16505550000"),
        headers={"Authorization": f"Bearer {NUMBER.access_token}", "Idempotency-Key": "k-1"},
    )
    refused = await throttled.send(text_payload("three"))
    assert [r.status_code for r in (first, replayed, again, refused)] == [200, 200, 200, 400]

    log = (await throttled.client.get("/log")).json()

    assert [(e["to"], e["text"], e["idempotency_key"]) for e in log] == [
        (USER, "one", None),
        ("16505550000", "two", "k-1"),
    ]
    assert [e["wamid"] for e in log] == [
        first.json()["messages"][0]["id"],
        replayed.json()["messages"][0]["id"],
    ]
    assert all(e["phone_number_id"] == NUMBER.phone_number_id for e in log)
    assert all(e["type"] == "text" for e in log)
    assert log[0]["received_at"] <= log[1]["received_at"]
    assert (await throttled.client.get("/log", params={"phone_number_id": "1"})).json() == []
