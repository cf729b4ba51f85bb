"""Reactions the business sends (cloud-api.md §1.2): a reaction to an unknown message, or with
something that is not an emoji, is accepted (200) and then fails with 131009 in a `failed`
status; a malformed reaction object is refused at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from tests.sandbox.bench import (
    NUMBER,
    USER,
    Bench,
    Clock,
    Receiver,
    assert_meta_error,
    open_bench,
    payload_of,
    text_payload,
)

from wanode.sandbox.rules.errors import ERROR_DOCS
from wanode.sandbox.rules.reactions import is_emoji

INVALID = "Parameter value is not valid"
DAY = 24 * 60 * 60
OTHER = replace(NUMBER, phone_number_id="106540352242923", display_phone_number="15550783882")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def timed(receiver: Receiver, clock: Clock) -> AsyncIterator[Bench]:
    async with open_bench(receiver, clock=clock) as bench:
        yield bench


async def business_message(bench: Bench) -> str:
    """A text the business sent the handset, delivered; its wamid."""
    response = await bench.send(text_payload("Your table is ready"))
    assert response.status_code == 200
    await bench.settle()
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def handset_message(bench: Bench, phone_number_id: str = NUMBER.phone_number_id) -> str:
    """A text the handset sent the business; its wamid."""
    response = await bench.act("send", {"phone_number_id": phone_number_id, "text": "thanks"})
    assert response.status_code == 201, response.json()
    await bench.settle()
    wamid: str = response.json()["id"]
    return wamid


async def react(bench: Bench, message_id: str, emoji: str) -> list[dict[str, Any]]:
    """Send a reaction, which the sandbox must accept; the statuses it then got."""
    payload = payload_of("reaction", {"message_id": message_id, "emoji": emoji})
    response = await bench.send(payload)
    assert response.status_code == 200, response.json()
    wamid = response.json()["messages"][0]["id"]
    await bench.settle()
    return bench.receiver.statuses(wamid)


def assert_invalid(statuses: list[dict[str, Any]], details: str) -> None:
    """One `failed` status carrying Meta's asynchronous error object for 131009."""
    assert [s["status"] for s in statuses] == ["failed"]
    [error] = statuses[0]["errors"]
    assert error == {
        "code": 131009,
        "title": INVALID,
        "message": INVALID,
        "error_data": {"details": details},
        "href": ERROR_DOCS,
    }


@pytest.mark.parametrize(
    "emoji",
    ["👍", "❤️", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "🇩🇪", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☕", "©️", ""],
)
async def test_a_reaction_to_either_side_of_the_conversation_is_sent(
    bench: Bench, emoji: str
) -> None:
    assert [s["status"] for s in await react(bench, await business_message(bench), emoji)] == [
        "sent"
    ]
    assert [s["status"] for s in await react(bench, await handset_message(bench), emoji)] == [
        "sent"
    ]


async def test_a_reaction_to_an_unknown_message_fails_with_131009(bench: Bench) -> None:
    statuses = await react(
        bench, "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA", "👍"
    )

    assert_invalid(
        statuses,
        "reaction.message_id: 'wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA' is "
        "not a message of this conversation",
    )
    assert bench.receiver.openapi_errors() == []  # the failed status is Meta's shape


@pytest.mark.parametrize("emoji", ["hello", ":)", "👍👍", "a👍", "1", "🇩", "\u200d"])
async def test_a_reaction_that_is_not_one_emoji_fails_with_131009(bench: Bench, emoji: str) -> None:
    statuses = await react(bench, await business_message(bench), emoji)

    assert_invalid(statuses, f"reaction.emoji: {emoji!r} is not an emoji")


async def test_a_reaction_to_a_reaction_fails(bench: Bench) -> None:
    target = await business_message(bench)
    await react(bench, target, "👍")
    reaction = bench.receiver.statuses()[-1]["id"]

    assert_invalid(
        await react(bench, reaction, "😂"), f"reaction.message_id: {reaction} is itself a reaction"
    )


async def test_a_reaction_to_another_numbers_conversation_fails(bench: Bench) -> None:
    bench.sandbox.provision(OTHER)
    theirs = await handset_message(bench, OTHER.phone_number_id)

    statuses = await react(bench, theirs, "👍")

    assert_invalid(
        statuses, f"reaction.message_id: {theirs!r} is not a message of this conversation"
    )


async def test_a_reaction_to_a_message_that_failed_fails(bench: Bench) -> None:
    await bench.client.put(f"/handsets/{USER}", json={"exists": False})
    target = (await bench.send(text_payload("hi"))).json()["messages"][0]["id"]
    await bench.settle()
    await bench.client.put(f"/handsets/{USER}", json={"exists": True})

    assert_invalid(
        await react(bench, target, "👍"), f"reaction.message_id: {target} was not delivered"
    )


async def test_a_reaction_to_a_message_older_than_30_days_fails(timed: Bench, clock: Clock) -> None:
    target = await business_message(timed)
    clock.advance(29 * DAY)
    assert [s["status"] for s in await react(timed, target, "👍")] == ["sent"]
    clock.advance(2 * DAY)

    assert_invalid(
        await react(timed, target, "👍"), f"reaction.message_id: {target} is older than 30 days"
    )


@pytest.mark.parametrize(
    ("reaction", "code"),
    [
        ({"emoji": "👍"}, 131008),
        ({"message_id": "wamid.x"}, 131008),
        ({"message_id": "", "emoji": "👍"}, 131008),
        ({"message_id": 7, "emoji": "👍"}, 100),
        ({"message_id": "wamid.x", "emoji": 7}, 100),
        ({"message_id": "wamid.x", "emoji": "👍", "skin": "dark"}, 100),
    ],
)
async def test_a_malformed_reaction_is_refused_at_once(
    bench: Bench, reaction: dict[str, Any], code: int
) -> None:
    error = assert_meta_error(await bench.send(payload_of("reaction", reaction)), code, 400)

    assert error["error_data"]["details"].startswith("reaction.")
    assert bench.receiver.statuses() == []


def test_one_emoji_is_recognised() -> None:
    assert is_emoji("🫠")  # Unicode 14
    assert is_emoji("🧑🏿‍🚀")
    assert not is_emoji("")
    assert not is_emoji("👍 ")
    assert not is_emoji("#")


async def test_a_handset_reacts_with_one_emoji_only(bench: Bench) -> None:
    target = await business_message(bench)

    refused = await bench.act("react", {"message_id": target, "emoji": "hello"})

    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "emoji: 'hello' is not one emoji"
    assert (await bench.act("react", {"message_id": target, "emoji": "👍🏽"})).status_code == 201
