"""The notifier: delivers queued delivery reports to notify URLs, with the reference's retries."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.engine.courier import Courier
from wanode.notify.client import Attempt, Outcome
from wanode.store import deliveries

log = structlog.get_logger(__name__)


class Notifier(Courier):
    """Delivers the DRs of one message in order (see store/deliveries.py).

    A batch is posted concurrently and its outcomes are written back in one transaction: at
    thousands of DRs a second, a transaction per report was most of the notifier's cost.
    """

    async def _claim(
        self, conn: AsyncConnection, *, at: float, lease_seconds: float, limit: int
    ) -> list[dict[str, Any]]:
        return await deliveries.claim(conn, at=at, lease_seconds=lease_seconds, limit=limit)

    async def _deliver_all(self, batch: list[dict[str, Any]]) -> None:
        attempts = await asyncio.gather(*(self._post(dr) for dr in batch))
        now = self._clock()
        async with self._db.begin() as conn:
            finished = [
                done
                for dr, attempt in zip(batch, attempts, strict=True)
                if (done := await self._settle(conn, dr, attempt, now)) is not None
            ]
            await deliveries.finish_many(conn, finished, at=now)

    async def _post(self, dr: dict[str, Any]) -> Attempt:
        return await self._client.post(dr["url"], orjson.dumps(dr["body"]))

    async def _settle(
        self, conn: AsyncConnection, dr: dict[str, Any], attempt: Attempt, now: float
    ) -> deliveries.Finished | None:
        """Record what one attempt achieved: a retry is written here; a delivered or given-up
        report is returned, for the caller to finish with the rest of its batch."""
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
            return None
        state = deliveries.DELIVERED
        if attempt.outcome is not Outcome.DELIVERED:
            state = deliveries.GIVEN_UP
            log.warning(
                "dr_given_up",
                transid=dr["transid"],
                attempts=dr["attempts"],
                status_code=attempt.status_code,
                error=attempt.error,
            )
        return deliveries.Finished(dr["id"], state, attempt.status_code, attempt.error)
