"""The status timeline: every message's next status, due at a time on the event loop's clock,
kept in one heap behind one timer.

A message's life is three statuses at fixed delays from its acceptance. A task per message
sleeping three times cost a task, a coroutine, a future and a timer handle per status; here
each due step is a heap item, and one `call_at` timer, set for the earliest, runs every step
due when it fires. Steps due at the same time run in the order they were scheduled, as sleeps
of equal deadline woke.

With a `tick`, the timer fires on the tick's grid only (multiples of it on the loop's clock),
running every step due by then: steps are never early and at most a tick late, and statuses
due within one tick of each other go out together, as one webhook per number when
`SandboxConfig.webhook_batch` allows (a POST per status cost more than the status itself).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# A step due within this much of now runs now: the loop's timers fire to the millisecond
# (uvloop's clock has that resolution), so a timer may wake just short of its deadline.
_RESOLUTION = 0.001

Step = Callable[..., None]


class Timeline:
    """Steps due at loop times; one timer for the earliest (on the `tick` grid, in seconds;
    0: exactly when due). Needs a running event loop."""

    def __init__(self, tick: float = 0.0) -> None:
        self._tick = tick
        self._heap: list[tuple[float, int, Step, tuple[Any, ...]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._firing = False
        self._idle: list[asyncio.Future[None]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, when: float, step: Step, *args: Any) -> None:
        """Run `step(*args)` at loop time `when` (at once, on the next pass, if it is past)."""
        heapq.heappush(self._heap, (when, next(self._order), step, args))
        # A step scheduled by a running one is seen by the same pass, or armed after it.
        if not self._firing and (self._timer is None or when < self._timer_at):
            self._arm(when)

    async def join(self) -> None:
        """Wait until no step is pending."""
        while self._heap:
            waiter = asyncio.get_running_loop().create_future()
            self._idle.append(waiter)
            await waiter

    def cancel(self) -> None:
        """Forget every pending step (the platform is closing); `join` returns."""
        self._heap.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake()

    def _arm(self, when: float) -> None:
        if self._tick > 0:
            when = math.ceil(when / self._tick) * self._tick
            if self._timer is not None and when == self._timer_at:
                return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = asyncio.get_running_loop().call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer = None
        heap = self._heap
        loop = asyncio.get_running_loop()
        # Every step due by the time the timer was set for (a grid point) or by now.
        limit = max(loop.time(), self._timer_at) + _RESOLUTION
        self._firing = True
        try:
            while heap and heap[0][0] <= limit:
                _, _, step, args = heapq.heappop(heap)
                try:
                    step(*args)
                except Exception as exc:
                    log.error("sandbox.lifecycle.crashed", exc_info=exc)
        finally:
            self._firing = False
        if heap:
            self._arm(heap[0][0])
        else:
            self._wake()

    def _wake(self) -> None:
        idle, self._idle = self._idle, []
        for waiter in idle:
            if not waiter.done():
                waiter.set_result(None)
