"""Waking loops in other processes through Redis (WANODE_REDIS_URL)."""

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


async def test_a_listener_hears_what_another_process_publishes(channel: str) -> None:
    listener = Wakeups.from_url(REDIS_URL, channel=channel)
    publisher = Wakeups.from_url(REDIS_URL, channel=channel)
    heard: list[str] = []
    got = asyncio.Event()

    def woken(loops: list[str]) -> None:
        heard.extend(loops)
        if {"dispatch", "status"} <= set(heard):
            got.set()

    listening = asyncio.create_task(listener.listen(woken))
    try:
        # Subscribing takes a moment; publish until the listener hears it.
        for _ in range(100):
            publisher.publish(["dispatch"])
            publisher.publish(["status", "dispatch"])
            try:
                await asyncio.wait_for(got.wait(), timeout=0.05)
                break
            except TimeoutError:
                continue
        assert got.is_set()
        assert set(heard) == {"dispatch", "status"}
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await publisher.aclose()
        await listener.aclose()


async def test_publishing_without_redis_only_logs() -> None:
    wakeups = Wakeups.from_url("redis://127.0.0.1:1/0")
    wakeups.publish(["dispatch"])
    await wakeups.aclose()
