"""Work a loop has started and does not wait for: sends and deliveries on their way.

A pass that waited for its whole batch was held by its slowest member (one hanging gateway call
or notify URL stalled every other message). Instead a pass starts a task per item and returns;
the next pass takes only what there is room for, and when room frees up after a pass had to
leave work behind, the loop is woken instead of waiting for its next poll.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine, Hashable
from typing import Any


class InFlight:
    """At most `limit` tasks at once, and at most `per_key` of them for any one key."""

    def __init__(
        self,
        limit: int,
        *,
        per_key: int | None = None,
        wake: Callable[[], None] | None = None,
        name: str,
    ) -> None:
        self._limit = limit
        self._per_key = per_key
        self._wake = wake
        self._name = name
        self._tasks: set[asyncio.Task[None]] = set()
        self._keys: Counter[Hashable] = Counter()
        self._starved = False

    def __len__(self) -> int:
        return len(self._tasks)

    def room(self, wanted: int) -> int:
        """How many of `wanted` new tasks may start now."""
        room = max(0, min(wanted, self._limit - len(self._tasks)))
        if room < wanted:
            self._starved = True
        return room

    def full_keys(self) -> list[Hashable]:
        """The keys with as many tasks as they may have: a claim leaves their work for later."""
        if self._per_key is None:
            return []
        full = [key for key, n in self._keys.items() if n >= self._per_key]
        if full:
            self._starved = True
        return full

    def found_nothing(self) -> None:
        """A pass claimed all it could see: what it would take may be queued behind a task on
        its way (a message's next DR waits for the one being posted), so that task's end wakes
        the loop."""
        if self._tasks:
            self._starved = True

    def start(self, work: Coroutine[Any, Any, None], key: Hashable = None) -> None:
        self._keys[key] += 1
        task = asyncio.create_task(work, name=self._name)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, key))

    async def drain(self) -> None:
        """Wait until every task started (and every task they lead to) has ended."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _finished(self, task: asyncio.Task[None], key: Hashable) -> None:
        self._tasks.discard(task)
        self._keys[key] -= 1
        if self._keys[key] <= 0:
            del self._keys[key]
        if self._starved and self._wake is not None:
            self._starved = False
            self._wake()
