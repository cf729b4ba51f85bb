"""The forwarder: posts queued inbound events to subscriber webhooks, signed, in order per contact.

Each subscription has its own outbox thread per contact (store/subscriptions.py): a retry holds
back that contact's later events for that subscriber only. What an HTTP answer means (delivered,
retry, give up) is the notify client's `classify`, the same as for delivery reports.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.engine.courier import Courier, Delivery
from wanode.notify.client import Attempt, Outcome
from wanode.notify.signing import SIGNATURE_HEADER, signature
from wanode.store import subscriptions as outbox

log = structlog.get_logger(__name__)

EVENT_HEADER = "X-Wanode-Event"


class Forwarder(Courier):
    """Delivers at most one event per thread at a time (see store/subscriptions.py), keyed by
    subscription: a subscriber that hangs holds back only its own events (see `Courier`)."""

    async def _claim(
        self,
        conn: AsyncConnection,
        *,
        at: float,
        lease_seconds: float,
        limit: int,
        skip: Sequence[Hashable],
    ) -> list[dict[str, Any]]:
        return await outbox.claim(
            conn,
            at=at,
            lease_seconds=lease_seconds,
            limit=limit,
            skip_subscriptions=[str(key) for key in skip],
        )

    def _deliveries(self, batch: list[dict[str, Any]]) -> Iterable[Delivery]:
        return [(row["subscription_id"], self._deliver(row)) for row in batch]

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
