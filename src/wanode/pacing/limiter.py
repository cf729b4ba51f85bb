"""The limiter port and its in-process backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from wanode.pacing.gcra import Bucket, Rate, blocked_until, line_up, take_all


class Limiter(Protocol):
    """Shared token buckets. Time is passed in; backends keep only each bucket's TAT."""

    async def acquire(
        self, buckets: Sequence[Bucket], now: float, *, reserve_within: float = 0.0
    ) -> float:
        """The seconds until every bucket allows one. When that is at most `reserve_within`,
        one is taken from every bucket at that moment (the caller waits it out, then sends);
        otherwise nothing is taken."""
        ...

    async def line_up(
        self,
        buckets: Sequence[Bucket],
        now: float,
        *,
        reserve_within: float,
        line: str,
        placed: bool = False,
    ) -> float:
        """`acquire` behind the first bucket's line of held sends (`wanode.pacing.gcra.line_up`):
        the seconds until the send's slot, taken when at most `reserve_within` away, or else
        until its place in the line (or a later bucket's next slot)."""
        ...

    async def block(self, key: str, rate: Rate, until: float, now: float) -> None:
        """Let nothing through `key`'s bucket before `until` (WhatsApp said slow down)."""
        ...

    async def aclose(self) -> None: ...


class LocalLimiter:
    """Buckets in this process's memory: right for one worker process (the default)."""

    # A bucket whose TAT has passed is full, the same as an absent one: forget it.
    _PRUNE_EVERY = 10_000

    def __init__(self) -> None:
        self._tats: dict[str, float] = {}
        self._takes = 0

    async def acquire(
        self, buckets: Sequence[Bucket], now: float, *, reserve_within: float = 0.0
    ) -> float:
        # No await between reading and writing: atomic within the event loop.
        wait, updated = take_all(self._tats, buckets, now, reserve_within)
        self._update(updated, now)
        return wait

    async def line_up(
        self,
        buckets: Sequence[Bucket],
        now: float,
        *,
        reserve_within: float,
        line: str,
        placed: bool = False,
    ) -> float:
        wait, updated = line_up(
            self._tats, buckets, now, reserve_within=reserve_within, line=line, placed=placed
        )
        self._update(updated, now)
        return wait

    def _update(self, updated: dict[str, float], now: float) -> None:
        if not updated:
            return
        self._tats.update(updated)
        self._takes += 1
        if self._takes % self._PRUNE_EVERY == 0:
            self._tats = {key: tat for key, tat in self._tats.items() if tat > now}

    async def block(self, key: str, rate: Rate, until: float, now: float) -> None:
        self._tats[key] = blocked_until(self._tats.get(key), rate, until)

    async def aclose(self) -> None:
        return None
