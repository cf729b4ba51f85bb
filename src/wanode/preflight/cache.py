"""Verdicts kept for a while, so a campaign with one image fetches it once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class VerdictCache(Generic[K, V]):
    """Each key's value, computed once per `ttl` seconds; concurrent callers share one run.

    A run that raises is not cached: its callers get the exception and the next call retries.
    """

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        # Insertion order is expiry order (one TTL for all), so pruning stops at the first
        # live entry.
        self._values: dict[K, tuple[float, V]] = {}
        self._running: dict[K, asyncio.Task[V]] = {}

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        now = self._clock()
        self._prune(now)
        cached = self._values.get(key)
        if cached is not None:
            return cached[1]
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(self._compute(key, compute))
            self._running[key] = task
        # One caller giving up (cancelled) must not cancel the run the others wait on.
        return await asyncio.shield(task)

    async def aclose(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._values.clear()

    async def _compute(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await compute()
        finally:
            del self._running[key]
        self._values.pop(key, None)  # re-inserted at the end, where its expiry belongs
        self._values[key] = (self._clock() + self._ttl, value)
        return value

    def _prune(self, now: float) -> None:
        while self._values:
            key, (expires_at, _) = next(iter(self._values.items()))
            if expires_at > now:
                return
            del self._values[key]
