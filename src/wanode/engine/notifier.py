"""The notifier: delivers queued delivery reports to notify URLs, with the reference's retries."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.config import Settings
from wanode.engine.courier import Courier, Delivery
from wanode.engine.group_commit import GroupCommit
from wanode.notify.client import Attempt, NotifyClient, Outcome
from wanode.store import Database, deliveries

log = structlog.get_logger(__name__)

# Names one DR across its attempts (and a re-send after a crash): a receiver that sees it twice
# can drop the second.
DR_ID_HEADER = "X-Wanode-DR-Id"
# A message has at most this many DRs (7501, 7500 and 7502, or a failure after one of them); a
# longer run is cut and the rest waits for the next pass. It bounds a claim's lease.
CHAIN_AT_MOST = 4


@dataclass
class _Settled:
    """What one message's run of DRs came to, for the writer."""

    done: list[tuple[dict[str, Any], Attempt]] = field(default_factory=list)
    untried: list[int] = field(default_factory=list)


class Notifier(Courier):
    """Delivers each message's DRs in order (see store/deliveries.py), messages independently.

    A pass claims the due DRs and starts one task per message, keyed by its notify URL, which
    posts its DRs one after the other, one DR per POST as the Messaging API's contract says,
    and stops at the first that is to be retried (see `Courier` for what a hanging receiver
    holds back: only itself). What each task achieved is written by group commit
    (`GroupCommit`), many tasks' outcomes to a transaction.
    """

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
        super().__init__(db, client, settings, clock=clock, batch=batch, wake=wake)
        self._writes: GroupCommit[_Settled] = GroupCommit(db, self._write, name="wanode-dr-writer")

    def _lease_seconds(self) -> float:
        # Long enough for every DR of the run to time out once, one after the other.
        return self._settings.notify_timeout * (CHAIN_AT_MOST + 1) + 5

    async def _claim(
        self,
        conn: AsyncConnection,
        *,
        at: float,
        lease_seconds: float,
        limit: int,
        skip: Sequence[Hashable],
    ) -> list[dict[str, Any]]:
        return await deliveries.claim(
            conn,
            at=at,
            lease_seconds=lease_seconds,
            limit=limit,
            skip_urls=[str(url) for url in skip],
        )

    def _deliveries(self, batch: list[dict[str, Any]]) -> Iterable[Delivery]:
        runs: dict[str, list[dict[str, Any]]] = {}
        for dr in batch:  # in id order: each message's DRs in the order they were queued
            runs.setdefault(dr["transid"], []).append(dr)
        return [(run[0]["url"], self._deliver_run(run)) for run in runs.values()]

    async def _deliver_run(self, run: list[dict[str, Any]]) -> None:
        settled = _Settled()
        try:
            for dr in run[:CHAIN_AT_MOST]:
                attempt = await self._post(dr)
                settled.done.append((dr, attempt))
                if self._retries(dr, attempt):
                    break
            settled.untried = [dr["id"] for dr in run[len(settled.done) :]]
            await self._writes.add(settled)
        except Exception:
            # The leases run out and a later pass posts these DRs again (the receiver can
            # tell by DR_ID_HEADER).
            log.exception("dr_delivery_crashed", transid=run[0]["transid"])

    async def _post(self, dr: dict[str, Any]) -> Attempt:
        headers = {DR_ID_HEADER: f"{dr['transid']}:{dr['status']}"}
        return await self._client.post(dr["url"], orjson.dumps(dr["body"]), headers)

    def _retries(self, dr: dict[str, Any], attempt: Attempt) -> bool:
        return attempt.outcome is Outcome.RETRY and dr["attempts"] <= self._settings.notify_retries

    async def _write(self, conn: AsyncConnection, settled: list[_Settled]) -> None:
        now = self._clock()
        finished: list[deliveries.Finished] = []
        retries: list[deliveries.Retry] = []
        untried: list[int] = []
        for run in settled:
            untried.extend(run.untried)
            for dr, attempt in run.done:
                if self._retries(dr, attempt):
                    retries.append(
                        deliveries.Retry(
                            dr["id"],
                            now + self._settings.notify_retry_interval,
                            attempt.status_code,
                            attempt.error,
                        )
                    )
                    log.info(
                        "dr_retry",
                        transid=dr["transid"],
                        attempt=dr["attempts"],
                        status_code=attempt.status_code,
                        error=attempt.error,
                    )
                    continue
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
                finished.append(
                    deliveries.Finished(dr["id"], state, attempt.status_code, attempt.error)
                )
        await deliveries.finish_many(conn, finished, at=now)
        await deliveries.retry_many(conn, retries)
        await deliveries.release_unattempted(conn, untried)
