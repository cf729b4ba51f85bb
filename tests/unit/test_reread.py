"""`Reread`: a setting read once for everyone who needs it while it is being read, reused for
its time to live, forgotten on demand."""

from __future__ import annotations

import asyncio

import pytest

from wanode.engine.reread import Reread

pytestmark = pytest.mark.asyncio


class Source:
    """What the database holds, and the reads made of it; a read takes the value as it is when
    the read begins (its snapshot), then waits for `opened`."""

    def __init__(self) -> None:
        self.values: dict[str, str | None] = {"a": "one"}
        self.reads: list[str] = []
        self.started: asyncio.Queue[str] = asyncio.Queue()
        self.opened = asyncio.Event()
        self.opened.set()
        self.fail = False

    async def read(self, key: str) -> str | None:
        self.reads.append(key)
        self.started.put_nowait(key)
        value = self.values.get(key)
        await self.opened.wait()
        if self.fail:
            raise RuntimeError("database down")
        return value


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_callers_that_need_a_key_while_it_is_read_share_that_one_read() -> None:
    source, clock = Source(), Clock()
    cache = Reread(source.read, ttl=5.0, clock=clock)
    source.opened.clear()
    waiting = [asyncio.create_task(cache.get("a")) for _ in range(200)]
    await asyncio.sleep(0)
    source.opened.set()
    assert await asyncio.gather(*waiting) == ["one"] * 200
    assert source.reads == ["a"]


async def test_a_value_is_reused_for_its_time_to_live_then_read_again() -> None:
    source, clock = Source(), Clock()
    cache = Reread(source.read, ttl=5.0, clock=clock)
    assert await cache.get("a") == "one"
    source.values["a"] = "two"
    clock.now += 4.9
    assert await cache.get("a") == "one"
    clock.now += 0.2
    assert await cache.get("a") == "two"
    assert source.reads == ["a", "a"]


async def test_a_value_not_kept_is_read_at_each_need() -> None:
    source, clock = Source(), Clock()
    cache = Reread(source.read, ttl=5.0, clock=clock, keep=lambda value: value is not None)
    assert await cache.get("missing") is None
    assert await cache.get("missing") is None
    source.values["missing"] = "found"
    assert await cache.get("missing") == "found"
    assert await cache.get("missing") == "found"
    assert source.reads == ["missing"] * 3


async def test_a_key_forgotten_while_it_is_read_is_read_again_and_the_older_read_not_kept() -> None:
    source, clock = Source(), Clock()
    cache = Reread(source.read, ttl=5.0, clock=clock)
    source.opened.clear()
    early = asyncio.create_task(cache.get("a"))
    await source.started.get()
    # The change commits while the first read is on its way, and the caller forgets the key.
    source.values["a"] = "changed"
    cache.forget("a")
    late = asyncio.create_task(cache.get("a"))
    await source.started.get()
    source.opened.set()
    # The early read carries the value of its snapshot; the late one sees the change, and so
    # does everyone after: the early read was not kept.
    assert await early == "one"
    assert await late == "changed"
    assert await cache.get("a") == "changed"
    assert source.reads == ["a", "a"]


async def test_a_failed_read_fails_its_waiters_and_the_next_need_reads_again() -> None:
    source, clock = Source(), Clock()
    cache = Reread(source.read, ttl=5.0, clock=clock)
    source.fail = True
    source.opened.clear()
    waiting = [asyncio.create_task(cache.get("a")) for _ in range(3)]
    await asyncio.sleep(0)
    source.opened.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    source.fail = False
    assert await cache.get("a") == "one"
    assert source.reads == ["a", "a"]


async def test_a_caller_cancelled_while_waiting_leaves_the_read_to_the_others() -> None:
    source, clock = Source(), Clock()
    cache = Reread(source.read, ttl=5.0, clock=clock)
    source.opened.clear()
    first = asyncio.create_task(cache.get("a"))
    second = asyncio.create_task(cache.get("a"))
    await asyncio.sleep(0)
    first.cancel()
    source.opened.set()
    assert await second == "one"
    assert first.cancelled()
    assert source.reads == ["a"]
