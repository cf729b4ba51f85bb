"""The notifier: delivers queued delivery reports to notify URLs, with the reference's retries."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.engine.courier import Courier
from wanode.notify.client import Outcome
from wanode.store import deliveries

log = structlog.get_logger(__name__)


class Notifier(Courier):
    """Delivers the DRs of one message in order (see store/deliveries.py)."""

    async def _claim(
        self, conn: AsyncConnection, *, at: float, lease_seconds: float, limit: int
    ) -> list[dict[str, Any]]:
        return await deliveries.claim(conn, at=at, lease_seconds=lease_seconds, limit=limit)

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
