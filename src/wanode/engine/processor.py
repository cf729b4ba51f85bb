"""The status processor: applies stored status webhooks to their messages, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from wanode.config import Settings
from wanode.engine.reports import Failure, Recording, record_many
from wanode.store import Database
from wanode.store import bsuids as bsuid_queries
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
            # In the order they occurred, in a few statements for the whole batch.
            await record_many(
                conn,
                [
                    Recording(
                        row,
                        row["status"],
                        row["occurred_at"],
                        failure=_failure(row),
                        identity_key_hash=row["identity_key_hash"],
                        bsuid=row["recipient_user_id"],
                    )
                    for row in rows
                ],
                now=now,
                source="webhook",
            )
            hashes: dict[str, str] = {}
            for row in rows:
                if row["recipient_id"] and row["identity_key_hash"]:
                    hashes[row["recipient_id"]] = row["identity_key_hash"]
            known = await contact_queries.policy_states(conn, list(hashes))
            # Only a new contact or a changed hash is written: a campaign's statuses then lock
            # no contact rows, which processors in other processes would wait for.
            changed = {
                wa_id: key
                for wa_id, key in hashes.items()
                if known.get(wa_id, {}).get("identity_key_hash") != key
            }
            await contact_queries.observe_hashes(conn, changed, at=now)
            await bsuid_queries.link(
                conn,
                (
                    bsuid_queries.Link(row["app_id"], row["recipient_id"], row["recipient_user_id"])
                    for row in rows
                    if row["recipient_id"] and row["recipient_user_id"]
                ),
                at=now,
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
