"""`Idempotency-Key` on sends: a repeated key is answered with the first wamid and the handset
gets the message once; the slow-answer fault makes a client time out on an accepted send."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from tests.sandbox.bench import NUMBER, USER, Bench, Clock, Receiver, text_payload
from tests.sandbox.test_rate_limits import limited_bench
from tests.support.harness import wait_until

from wanode.sandbox.state.idempotency import IdempotencyKeys


async def send(bench: Bench, key: str | None, body: str = "hello") -> httpx.Response:
    headers = {"Authorization": f"Bearer {NUMBER.access_token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await bench.client.post(
        f"/v23.0/{NUMBER.phone_number_id}/messages", json=text_payload(body), headers=headers
    )


def wamid(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


async def test_a_repeated_key_gets_the_first_answer_and_one_message(bench: Bench) -> None:
    first = await send(bench, "transid-1")
    again = await send(bench, "transid-1")
    assert wamid(again) == wamid(first)
    assert again.json() == first.json()
    # The receive log has the send once; the replay is logged apart, with its key.
    log = (await bench.client.get("/log")).json()
    assert [entry["wamid"] for entry in log] == [wamid(first)]
    replays = (await bench.client.get("/log/replays")).json()
    assert [(r["wamid"], r["idempotency_key"]) for r in replays] == [(wamid(first), "transid-1")]
    await bench.settle()
    inbox = await bench.inbox()
    assert [entry["id"] for entry in inbox] == [wamid(first)]
    # One lifecycle: each status is sent once.
    assert [s["status"] for s in bench.receiver.statuses(wamid(first))] == [
        "sent",
        "delivered",
        "read",
    ]


async def test_other_keys_and_no_key_are_other_messages(bench: Bench) -> None:
    ids = [
        wamid(await send(bench, "a")),
        wamid(await send(bench, "b")),
        wamid(await send(bench, None)),
        wamid(await send(bench, None)),
    ]
    assert len(set(ids)) == 4
    await bench.settle()
    assert len(await bench.inbox()) == 4


async def test_a_refused_request_does_not_use_up_its_key(bench: Bench) -> None:
    headers = {"Authorization": f"Bearer {NUMBER.access_token}", "Idempotency-Key": "k"}
    refused = await bench.client.post(
        f"/v23.0/{NUMBER.phone_number_id}/messages",
        json={"messaging_product": "whatsapp", "to": USER, "type": "text"},
        headers=headers,
    )
    assert refused.status_code == 400
    accepted = await send(bench, "k")
    assert wamid(accepted)
    await bench.settle()
    assert len(await bench.inbox()) == 1


async def test_a_replay_takes_nothing_from_the_rate_limits(receiver: Receiver) -> None:
    clock = Clock()
    async with limited_bench(receiver, clock, throughput_mps=1) as bench:
        first = await send(bench, "once")
        assert wamid(await send(bench, "once")) == wamid(first)
        # The number's one message a second went to the first send; a new one is refused.
        refused = await send(bench, "other")
        assert refused.json()["error"]["code"] == 130429


def test_keys_are_remembered_up_to_a_bound() -> None:
    keys = IdempotencyKeys(max_keys=2)
    for n in range(3):
        keys.remember("1", f"k{n}", f"w{n}")
    assert keys.answered("1", "k0") is None
    assert (keys.answered("1", "k1"), keys.answered("1", "k2")) == ("w1", "w2")
    assert keys.answered("2", "k2") is None  # keys are per business number


async def test_a_slow_answer_comes_after_the_message_was_accepted(bench: Bench) -> None:
    configured = await bench.client.post("/faults/slow-answers", json={"count": 1, "delay": 30})
    assert configured.status_code == 200
    assert configured.json() == {"slow_answers": 1, "delay": 30}
    pending = asyncio.ensure_future(send(bench, "slow"))
    await wait_until(bench.inbox, bool, timeout=10, what="the message to reach the handset")
    # Accepted and on its way to the handset, while the answer is still held back.
    assert not pending.done()
    pending.cancel()
    # The client gives up and retries with the same key: the same message, shown once.
    retried = await send(bench, "slow")
    await bench.settle()
    assert [entry["id"] for entry in await bench.inbox()] == [wamid(retried)]
    assert bench.sandbox.faults.pending() == 0


@pytest.mark.parametrize(
    "body",
    [{"delay": -1}, {"count": -1, "delay": 1}, {"count": 1}, {"count": "1", "delay": 1}, {"x": 1}],
)
async def test_slow_answers_are_checked(bench: Bench, body: dict[str, object]) -> None:
    response = await bench.client.post("/faults/slow-answers", json=body)
    assert response.status_code == 400
