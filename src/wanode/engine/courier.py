"""What the notifier and the forwarder share: claim what an HTTP outbox has due, and deliver it
without waiting for it.

A pass claims due rows and starts a task per delivery (`InFlight`); it does not wait for them,
so a receiver that hangs holds back only its own deliveries. Each key (a notify URL, a
subscription) has at most `per_key` deliveries on their way: while it has that many, claims
skip its rows, and the rest of the outbox moves on.

A claim that skips full keys still reads past their rows, which under a campaign to one URL
are nearly all of the outbox. A courier told which keys new rows are for (`hinted`, then
`queued`) skips such a claim when it would find nothing: the last claim took all that was
due but the full keys' rows, those keys are still full, and every row queued since is for one
of them. What no hint covers (another process's rows, a retry come due) waits at most
`poll_interval` longer, and only while some key is full.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Hashable, Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.config import Settings
from wanode.engine.in_flight import InFlight
from wanode.notify.client import NotifyClient
from wanode.store import Database

# Deliveries on their way to one key at once, and in all.
PER_KEY = 64
IN_FLIGHT = 2000

Delivery = tuple[Hashable, Coroutine[Any, Any, None]]


class Courier(ABC):
    def __init__(
        self,
        db: Database,
        client: NotifyClient,
        settings: Settings,
        *,
        clock: Callable[[], float],
        batch: int = 200,
        wake: Callable[[], None] | None = None,
    ) -> None:
        """`wake` is called when deliveries end after a pass had to leave work behind."""
        self._db = db
        self._client = client
        self._settings = settings
        self._clock = clock
        self._batch = batch
        self._in_flight = InFlight(IN_FLIGHT, per_key=PER_KEY, wake=wake, name=type(self).__name__)
        self._hinted = False
        # The keys queued for since the last claim; the full keys that claim skipped, and until
        # when its finding (nothing else due) may stand in for a claim.
        self._queued: set[Hashable] = set()
        self._found_all_but: tuple[frozenset[Hashable], float] | None = None

    def hinted(self) -> None:
        """From now on `queued` is told of every row this process queues."""
        self._hinted = True

    def queued(self, keys: Iterable[Hashable]) -> None:
        """Rows for `keys` were queued (committed)."""
        self._queued.update(keys)

    async def pump(self) -> int:
        """Claim what is due now and start delivering it; returns how many rows were claimed.
        The engine's loop calls this."""
        limit = self._in_flight.room(self._batch)
        if limit <= 0:
            return 0
        now = self._clock()
        full = self._in_flight.full_keys()
        if self._nothing_to_claim(full, now):
            return 0
        self._queued.clear()
        async with self._db.begin() as conn:
            batch = await self._claim(
                conn,
                at=now,
                lease_seconds=self._lease_seconds(),
                limit=limit,
                skip=full,
            )
        self._found_all_but = None
        if self._hinted and full and len(batch) < limit:
            self._found_all_but = (frozenset(full), now + self._settings.poll_interval)
        if len(batch) < limit:
            # The claim took all that was due, but more may wait behind a delivery on its way
            # (the next row of its thread): that delivery's end wakes the loop. (The engine
            # runs no second pass at once to find out: it would mostly find nothing.)
            self._in_flight.found_nothing()
        for key, delivery in self._deliveries(batch):
            self._in_flight.start(delivery, key=key)
        return len(batch)

    def _nothing_to_claim(self, full: list[Hashable], now: float) -> bool:
        """Whether a claim now would find nothing, by what the last one found and the hints
        since (see the module's doc). A key that is no longer full may have rows waiting."""
        if self._found_all_but is None:
            return False
        skipped, until = self._found_all_but
        return now < until and skipped.union(self._queued).issubset(full)

    @property
    def batch(self) -> int:
        """The most rows a pass claims."""
        return self._batch

    async def run_once(self) -> int:
        """`pump`, then wait until what it claimed is delivered and recorded."""
        claimed = await self.pump()
        await self.drain()
        return claimed

    async def drain(self) -> None:
        """Wait for the deliveries on their way."""
        await self._in_flight.drain()

    def _lease_seconds(self) -> float:
        # A lease longer than one attempt, so a slow receiver is not called twice.
        return self._settings.notify_timeout * 2 + 5

    @abstractmethod
    async def _claim(
        self,
        conn: AsyncConnection,
        *,
        at: float,
        lease_seconds: float,
        limit: int,
        skip: Sequence[Hashable],
    ) -> list[dict[str, Any]]:
        """Lease up to `limit` due rows, none of the keys in `skip`."""

    @abstractmethod
    def _deliveries(self, batch: list[dict[str, Any]]) -> Iterable[Delivery]:
        """The deliveries of a claimed batch, each with its key; each records its outcome."""
