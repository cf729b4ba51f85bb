"""A process's SQLite turn: one transaction at a time, the API's before the engine's.

On SQLite a process runs its transactions one after the other (`Database.begin`). Under a
campaign the engine's loops keep several transactions waiting at any moment (a dispatcher's
group commit, a status pass, a DR claim, their outcomes); a request that must commit before
it answers (the Messaging API's accept) then waited behind all of them, in arrival order,
and its latency grew with the engine's backlog. A `Turn` serves waiters marked `urgent`
first, in their order, then the others in theirs: the API answers within about one
transaction's time, and the engine, which only falls a little behind, catches up between
requests. Nothing waits forever while the API is idle for even a moment, which a campaign's
requests (each a few hundred microseconds of work) always leave.
"""

from __future__ import annotations

import asyncio
import collections


class Turn:
    """An asyncio lock with two queues of waiters: urgent ones are handed the turn first."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: collections.deque[asyncio.Future[None]] = collections.deque()
        self._others: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def held(self) -> bool:
        return self._held

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._held:  # (its queues are empty whenever it is free)
            self._held = True
            return
        waiter = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._others).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Handed the turn just as it was cancelled: pass it on.
                self.release()
            else:
                queue = self._urgent if urgent else self._others
                if waiter in queue:
                    queue.remove(waiter)
            raise

    def release(self) -> None:
        """Hand the turn to the next waiter (urgent first), or free it."""
        for queue in (self._urgent, self._others):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # still held: it goes straight to the waiter
                    return
        self._held = False
