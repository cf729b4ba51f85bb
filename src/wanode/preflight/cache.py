"""Verdicts kept for a while, so a campaign with one image fetches it once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class VerdictCache(Generic[K, V]):
    """Each key's value, computed once per `ttl` seconds; concurrent callers share one run.

    Values `is_short` says are passing trouble are kept only `short_ttl`. A run that raises is
    not cached: its callers get the exception and the next call retries.
    """

    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float],
        *,
        short_ttl: float | None = None,
        is_short: Callable[[V], bool] = lambda _value: False,
    ) -> None:
        self._clock = clock
        self._is_short = is_short
        # One dict per TTL: insertion order is then expiry order, so pruning stops at the
        # first live entry.
        self._shelves: tuple[tuple[float, dict[K, tuple[float, V]]], ...] = (
            (ttl, {}),
            (ttl if short_ttl is None else min(ttl, short_ttl), {}),
        )
        self._running: dict[K, asyncio.Task[V]] = {}

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        now = self._clock()
        for _ttl, values in self._shelves:
            self._prune(values, now)
            cached = values.get(key)
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
        for _ttl, values in self._shelves:
            values.clear()

    async def _compute(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await compute()
        finally:
            del self._running[key]
        for _ttl, values in self._shelves:
            values.pop(key, None)  # re-inserted at the end, where its expiry belongs
        ttl, shelf = self._shelves[1 if self._is_short(value) else 0]
        shelf[key] = (self._clock() + ttl, value)
        return value

    @staticmethod
    def _prune(values: dict[K, tuple[float, V]], now: float) -> None:
        while values:
            key, (expires_at, _) = next(iter(values.items()))
            if expires_at > now:
                return
            del values[key]
