"""A small per-process cache with a time to live, for what every request reads and almost
never changes (API keys, apps). Another process's change is seen within the TTL; this
process's own changes drop the entry at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

_MAX_ENTRIES = 10_000


class TtlCache(Generic[V]):
    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if expires <= self._clock():
            del self._entries[key]
            return None
        return value

    def put(self, key: str, value: V) -> None:
        if len(self._entries) >= _MAX_ENTRIES:
            # Keys and apps are few; a flood of distinct keys only resets the cache.
            self._entries.clear()
        self._entries[key] = (self._clock() + self._ttl, value)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
