"""A process's own wake-ups through Redis: heard by every other process, not by itself (it woke
its loops when it published; hearing it again would cost each of them a pass)."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import redis.asyncio as aioredis

from wanode.engine.wakeups import Wakeups

REDIS_URL = os.environ.get("WANODE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def channel() -> str:
    probe = aioredis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({type(exc).__name__}: {exc}). Start it "
            "(see the README) or point WANODE_TEST_REDIS_URL at one.",
            pytrace=False,
        )
    finally:
        await probe.aclose()
    return f"wanode-test:wake:{uuid.uuid4().hex}"


async def _until_heard(publisher: Wakeups, name: str, heard: list[str]) -> None:
    # Subscribing takes a moment: publish until the listener hears it.
    for _ in range(100):
        publisher.publish([name])
        await asyncio.sleep(0.05)
        if name in heard:
            return
    raise AssertionError(f"{name} was never heard")


async def test_a_process_does_not_hear_its_own_wake_ups(channel: str) -> None:
    one = Wakeups.from_url(REDIS_URL, channel=channel)
    other = Wakeups.from_url(REDIS_URL, channel=channel)
    heard_by_one: list[str] = []
    heard_by_other: list[str] = []
    listening = [
        asyncio.create_task(one.listen(heard_by_one.extend)),
        asyncio.create_task(other.listen(heard_by_other.extend)),
    ]
    try:
        await _until_heard(other, "status", heard_by_one)  # `one` listens
        await _until_heard(one, "dispatch", heard_by_other)  # and is heard
        # Redis delivers a channel's messages in order: once `one` hears this, it would have
        # heard its own "dispatch" before.
        await _until_heard(other, "notify", heard_by_one)

        assert set(heard_by_one) == {"status", "notify"}
        assert set(heard_by_other) == {"dispatch"}
    finally:
        for task in listening:
            task.cancel()
        await asyncio.gather(*listening, return_exceptions=True)
        await one.aclose()
        await other.aclose()


async def test_a_wake_up_of_an_older_process_still_wakes(channel: str) -> None:
    """Publications without a sender's id (a process not yet upgraded) are heard as before."""
    listener = Wakeups.from_url(REDIS_URL, channel=channel)
    client = aioredis.from_url(REDIS_URL)
    heard: list[str] = []
    listening = asyncio.create_task(listener.listen(heard.extend))
    try:
        for _ in range(100):
            await client.publish(channel, "dispatch,status")
            await asyncio.sleep(0.05)
            if heard:
                break
        assert set(heard) == {"dispatch", "status"}
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await listener.aclose()
        await client.aclose()
