"""Faults injected into the sandbox's answers, to rehearse what a real network does.

`slow_answers(count, delay)`: the next `count` sends are accepted (the message reaches the
handset and its statuses follow) but answered `delay` seconds late, so a client with a shorter
timeout gives up on a request that did go through: the ambiguous timeout.
"""

from __future__ import annotations

import asyncio
import math


class Faults:
    def __init__(self) -> None:
        self._slow: list[float] = []

    def slow_answers(self, count: int, delay: float) -> None:
        """Answer the next `count` accepted sends `delay` seconds late."""
        if count < 0 or not math.isfinite(delay) or delay < 0:
            raise ValueError("count and delay must be non-negative numbers")
        self._slow = [delay] * count

    def clear(self) -> None:
        self._slow = []

    def pending(self) -> int:
        return len(self._slow)

    async def after_accept(self) -> None:
        """Wait as the next injected fault says (nothing when none is pending)."""
        if self._slow:
            await asyncio.sleep(self._slow.pop(0))
