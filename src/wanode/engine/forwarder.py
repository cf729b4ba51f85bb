"""The forwarder: posts queued inbound events to subscriber webhooks, signed, in order per contact.

Each subscription has its own outbox thread per contact (store/subscriptions.py): a retry holds
back that contact's later events for that subscriber only. What an HTTP answer means (delivered,
retry, give up) is the notify client's `classify`, the same as for delivery reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import structlog

from wanode.config import Settings
from wanode.notify.client import Attempt, NotifyClient, Outcome
from wanode.notify.signing import SIGNATURE_HEADER, signature
from wanode.store import Database
from wanode.store import subscriptions as outbox

log = structlog.get_logger(__name__)

EVENT_HEADER = "X-Wanode-Event"


class Forwarder:
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
        """Deliver what is due now, at most one event per thread; returns how many were tried."""
        now = self._clock()
        async with self._db.begin() as conn:
            batch = await outbox.claim(
                conn,
                at=now,
                # A lease longer than one attempt, so a slow receiver is not called twice.
                lease_seconds=self._settings.notify_timeout * 2 + 5,
                limit=self._batch,
            )
        if batch:
            await asyncio.gather(*(self._deliver(row) for row in batch))
        return len(batch)

    async def _deliver(self, row: dict[str, Any]) -> None:
        if row["secret"] is None:
            # Deleted between the claim and the secret's lookup: nobody is left to sign for.
            attempt = Attempt(Outcome.GIVE_UP, None, "subscription deleted")
        else:
            attempt = await self._post(row)
        now = self._clock()
        fields = {
            "subscription_id": row["subscription_id"],
            "wamid": row["wamid"],
            "attempt": row["attempts"],
            "status_code": attempt.status_code,
            "error": attempt.error,
        }
        async with self._db.begin() as conn:
            if (
                attempt.outcome is Outcome.RETRY
                and row["attempts"] <= self._settings.notify_retries
            ):
                await outbox.retry_later(
                    conn,
                    row["id"],
                    next_attempt_at=now + self._backoff(row["attempts"]),
                    status_code=attempt.status_code,
                    error=attempt.error,
                )
                log.info("event_retry", **fields)
                return
            state = outbox.DELIVERED if attempt.outcome is Outcome.DELIVERED else outbox.FAILED
            await outbox.finish(
                conn,
                row["id"],
                state=state,
                status_code=attempt.status_code,
                error=attempt.error,
                at=now,
            )
        if state == outbox.FAILED:
            log.warning("event_failed", **fields)

    async def _post(self, row: dict[str, Any]) -> Attempt:
        # Signed over the very bytes sent: re-serialising on the receiver's side would differ.
        body = orjson.dumps(row["body"])
        headers = {
            SIGNATURE_HEADER: signature(body, row["secret"]),
            EVENT_HEADER: row["body"]["event"],
        }
        return await self._client.post(row["url"], body, headers)

    def _backoff(self, attempts: int) -> float:
        """Seconds before retry number `attempts`: the retry interval, doubled each time."""
        return float(self._settings.notify_retry_interval * 2 ** (attempts - 1))
