"""The status processor: applies stored status webhooks to their messages, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from wanode.config import Settings
from wanode.engine.reports import Failure, record
from wanode.store import Database
from wanode.store import contacts as contact_queries
from wanode.store import statuses as inbox

log = structlog.get_logger(__name__)

SWEEP_EVERY = 60.0


class StatusProcessor:
    def __init__(
        self, db: Database, settings: Settings, *, clock: Callable[[], float], batch: int = 500
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._batch = batch
        self._last_sweep = 0.0

    async def run_once(self) -> int:
        now = self._clock()
        async with self._db.begin() as conn:
            rows = await inbox.ready(conn, limit=self._batch)
            for row in rows:
                await record(
                    conn,
                    row,
                    row["status"],
                    at=row["occurred_at"],
                    now=now,
                    source="webhook",
                    failure=_failure(row),
                    identity_key_hash=row["identity_key_hash"],
                )
                if row["recipient_id"] and row["identity_key_hash"]:
                    await contact_queries.observe(
                        conn,
                        row["recipient_id"],
                        at=now,
                        identity_key_hash=row["identity_key_hash"],
                    )
            await inbox.remove(conn, [row["id"] for row in rows])
            if now - self._last_sweep > SWEEP_EVERY:
                self._last_sweep = now
                dropped = await inbox.drop_orphans(
                    conn, received_before=now - self._settings.orphan_status_ttl
                )
                if dropped:
                    log.info("orphan_statuses_dropped", count=dropped)
        return len(rows)


def _failure(row: dict[str, Any]) -> Failure | None:
    if row["status"] != "failed":
        return None
    # A failed status without an error object still fails; 131000 is Meta's "something went wrong".
    code = row["error_code"] if row["error_code"] is not None else 131000
    return Failure.from_meta(code, row["error_title"] or "Failed", row["error_details"] or "")
