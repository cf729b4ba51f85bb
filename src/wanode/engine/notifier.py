"""The notifier: delivers queued delivery reports to notify URLs, with the reference's retries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import structlog

from wanode.config import Settings
from wanode.notify.client import NotifyClient, Outcome
from wanode.store import Database, deliveries

log = structlog.get_logger(__name__)


class Notifier:
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
        now = self._clock()
        async with self._db.begin() as conn:
            batch = await deliveries.claim(
                conn,
                at=now,
                # A lease longer than one attempt, so a slow receiver is not called twice.
                lease_seconds=self._settings.notify_timeout * 2 + 5,
                limit=self._batch,
            )
        if batch:
            await asyncio.gather(*(self._deliver(dr) for dr in batch))
        return len(batch)

    async def _deliver(self, dr: dict[str, Any]) -> None:
        attempt = await self._client.post(dr["url"], orjson.dumps(dr["body"]))
        now = self._clock()
        async with self._db.begin() as conn:
            if attempt.outcome is Outcome.RETRY and dr["attempts"] <= self._settings.notify_retries:
                await deliveries.retry_later(
                    conn,
                    dr["id"],
                    next_attempt_at=now + self._settings.notify_retry_interval,
                    status_code=attempt.status_code,
                    error=attempt.error,
                )
                log.info(
                    "dr_retry",
                    transid=dr["transid"],
                    attempt=dr["attempts"],
                    status_code=attempt.status_code,
                    error=attempt.error,
                )
                return
            state = (
                deliveries.DELIVERED
                if attempt.outcome is Outcome.DELIVERED
                else deliveries.GIVEN_UP
            )
            await deliveries.finish(
                conn,
                dr["id"],
                state=state,
                status_code=attempt.status_code,
                error=attempt.error,
                at=now,
            )
        if state == deliveries.GIVEN_UP:
            log.warning(
                "dr_given_up",
                transid=dr["transid"],
                attempts=dr["attempts"],
                status_code=attempt.status_code,
                error=attempt.error,
            )
