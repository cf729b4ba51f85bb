"""Settings read from the database and reused for a while, one read at a time per key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Reread(Generic[K, V]):
    """`read(key)`'s value, reused for `ttl` seconds of `clock`.

    The callers that find a key stale while it is being read wait for that one read. Under a
    campaign every DR on its way needs its app's signing settings, and when they went stale
    each DR read them in a transaction of its own: some 200 at once, holding the event loop
    13-17 ms every few seconds (measured at 500 msg/s on SQLite); the dispatcher's first batch
    read each app once per send the same way. `keep`: whether a value is reused at all (one
    that is not is read again at each need).
    """

    def __init__(
        self,
        read: Callable[[K], Awaitable[V]],
        *,
        ttl: float,
        clock: Callable[[], float],
        keep: Callable[[V], bool] = lambda _value: True,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._keep = keep
        self._values: dict[K, tuple[V, float]] = {}
        self._reading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K) -> V:
        found = self._values.get(key)
        if found is not None and self._clock() - found[1] < self._ttl:
            return found[0]
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self._fresh(key))
            self._reading[key] = reading
        # Shielded: a caller cancelled while waiting leaves the read to the others.
        return await asyncio.shield(reading)

    def forget(self, key: K) -> None:
        """Read `key` again at its next use, even if a read is on its way now (it may have
        begun before the change that makes the caller forget)."""
        self._values.pop(key, None)
        self._reading.pop(key, None)

    async def _fresh(self, key: K) -> V:
        at = self._clock()
        this = asyncio.current_task()
        try:
            value = await self._read(key)
        finally:
            # Still the read of record: not forgotten (nor replaced) while it ran.
            current = self._reading.get(key) is this
            if current:
                del self._reading[key]
        if current:
            if self._keep(value):
                self._values[key] = (value, at)
            else:
                self._values.pop(key, None)
        return value
