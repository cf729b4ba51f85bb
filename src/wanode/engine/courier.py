"""What the notifier and the forwarder share: claim a batch of an HTTP outbox, deliver each row."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.config import Settings
from wanode.notify.client import NotifyClient
from wanode.store import Database


class Courier(ABC):
    def __init__(
        self,
        db: Database,
        client: NotifyClient,
        settings: Settings,
        *,
        clock: Callable[[], float],
        batch: int = 200,
    ) -> None:
        self._db = db
        self._client = client
        self._settings = settings
        self._clock = clock
        self._batch = batch

    async def run_once(self) -> int:
        """Deliver what is due now; returns how many rows were tried."""
        now = self._clock()
        async with self._db.begin() as conn:
            batch = await self._claim(
                conn,
                at=now,
                # A lease longer than one attempt, so a slow receiver is not called twice.
                lease_seconds=self._settings.notify_timeout * 2 + 5,
                limit=self._batch,
            )
        if batch:
            await self._deliver_all(batch)
        return len(batch)

    @abstractmethod
    async def _claim(
        self, conn: AsyncConnection, *, at: float, lease_seconds: float, limit: int
    ) -> list[dict[str, Any]]: ...

    @abstractmethod
    async def _deliver_all(self, batch: list[dict[str, Any]]) -> None:
        """Deliver a claimed batch and record each row's outcome."""
