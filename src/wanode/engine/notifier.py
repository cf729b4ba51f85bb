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
from wanode.engine.group_commit import GroupCommit, linger_for
from wanode.engine.reread import Reread
from wanode.notify.auth import NotifyAuth, TokenError
from wanode.notify.clicks import report_id
from wanode.notify.client import Attempt, NotifyClient, Outcome
from wanode.notify.signing import DR_SIGNATURE_HEADER, dr_signature
from wanode.policy.notify_auth import Profile
from wanode.store import Database, deliveries, notify_auth
from wanode.store import apps as app_queries

log = structlog.get_logger(__name__)

# Names one DR across its attempts (and a re-send after a crash): a receiver that sees it twice
# can drop the second.
DR_ID_HEADER = "X-Wanode-DR-Id"
# A message has at most this many DRs (7501, 7500 and 7502, or a failure after one of them); a
# longer run is cut and the rest waits for the next pass. It bounds a claim's lease.
CHAIN_AT_MOST = 4
# How long an app's signing settings and an auth profile are reused before being read again
# (a change made through this process's API is seen at once: `forget`).
SETTINGS_TTL = 5.0


@dataclass
class _Settled:
    """What one message's run of DRs came to, for the writer."""

    done: list[tuple[dict[str, Any], Attempt]] = field(default_factory=list)
    untried: list[int] = field(default_factory=list)
    # Held until their auth profile exists (`notifyurlAuthId` names none).
    parked: list[int] = field(default_factory=list)


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
        auth: NotifyAuth | None = None,
    ) -> None:
        super().__init__(db, client, settings, clock=clock, batch=batch, wake=wake)
        # Which notify URLs this process queues DRs for (`Courier.queued`).
        self.hinted()
        db.listen(deliveries.QUEUED, self.queued)
        self._writes: GroupCommit[_Settled] = GroupCommit(
            db, self._write, name="wanode-dr-writer", linger=linger_for(db)
        )
        self._auth = auth
        # app id -> (algorithm, secret) or None; profile id -> profile. Only profiles found
        # are kept: a missing one is read again at each need, so a DR parked for it is never
        # parked again after the profile appeared.
        self._signing: Reread[str, tuple[str, str] | None] = Reread(
            self._read_signing, ttl=SETTINGS_TTL, clock=clock
        )
        self._profiles: Reread[str, Profile | None] = Reread(
            self._read_profile, ttl=SETTINGS_TTL, clock=clock, keep=lambda p: p is not None
        )

    def forget(self, *, app_id: str | None = None, profile_id: str | None = None) -> None:
        """Read an app's signing settings or a profile again at their next use."""
        if app_id is not None:
            self._signing.forget(app_id)
        if profile_id is not None:
            self._profiles.forget(profile_id)
            if self._auth is not None:
                self._auth.forget(profile_id)

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
            last=True,
        )

    def _deliveries(self, batch: list[dict[str, Any]]) -> Iterable[Delivery]:
        runs: dict[str, list[dict[str, Any]]] = {}
        for dr in batch:  # in id order: each message's DRs in the order they were queued
            runs.setdefault(dr["transid"], []).append(dr)
        return [(run[0]["url"], self._deliver_run(run)) for run in runs.values()]

    async def _deliver_run(self, run: list[dict[str, Any]]) -> None:
        settled = _Settled()
        try:
            head = run[0]
            auth: dict[str, str] = {}
            if head.get("auth_id"):
                try:
                    found = await self._auth_headers(head)
                except TokenError as exc:
                    settled.done.append((head, Attempt(Outcome.RETRY, None, f"auth: {exc}")))
                    settled.untried = [dr["id"] for dr in run[1:]]
                    await self._writes.add(settled)
                    return
                if found is None:
                    settled.parked = [dr["id"] for dr in run]
                    log.warning(
                        "dr_parked", transid=head["transid"], notify_auth_id=head["auth_id"]
                    )
                    await self._writes.add(settled)
                    return
                auth = found
            for dr in run[:CHAIN_AT_MOST]:
                attempt = await self._post(dr, auth)
                settled.done.append((dr, attempt))
                if self._retries(dr, attempt):
                    break
            settled.untried = [dr["id"] for dr in run[len(settled.done) :]]
            await self._writes.add(settled)
        except Exception:
            # The leases run out and a later pass posts these DRs again (the receiver can
            # tell by DR_ID_HEADER).
            log.exception("dr_delivery_crashed", transid=run[0]["transid"])

    async def _post(self, dr: dict[str, Any], auth: dict[str, str]) -> Attempt:
        headers = {DR_ID_HEADER: report_id(dr), **auth}
        body = orjson.dumps(dr["body"])
        signing = await self._signing_of(dr.get("app_id"))
        if signing is not None:
            algorithm, secret = signing
            headers[DR_SIGNATURE_HEADER] = dr_signature(body, secret, algorithm)
        attempt = await self._client.post(dr["url"], body, headers)
        if attempt.status_code == 401 and dr.get("auth_id") and self._auth is not None:
            self._auth.forget(dr["auth_id"])  # an OAuth2 token the receiver no longer takes
        return attempt

    async def _signing_of(self, app_id: str | None) -> tuple[str, str] | None:
        if app_id is None:
            return None
        return await self._signing.get(app_id)

    async def _read_signing(self, app_id: str) -> tuple[str, str] | None:
        async with self._db.begin() as conn:
            app = await app_queries.get_app(conn, app_id)
        if app is not None and app.get("notify_signing") and app.get("notify_secret"):
            return (app["notify_signing"], app["notify_secret"])
        return None

    async def _read_profile(self, profile_id: str) -> Profile | None:
        async with self._db.begin() as conn:
            return await notify_auth.get(conn, profile_id)

    async def _auth_headers(self, dr: dict[str, Any]) -> dict[str, str] | None:
        """The headers of the DR's auth profile; None when the profile does not exist (for
        the DR's app). Raises TokenError when an OAuth2 token cannot be had."""
        profile = await self._profiles.get(dr["auth_id"])
        if profile is None:
            return None
        if dr.get("app_id") is not None and profile.app_id != dr["app_id"]:
            return None
        if self._auth is None:
            raise TokenError("no auth client")
        return await self._auth.headers(profile)

    def _retries(self, dr: dict[str, Any], attempt: Attempt) -> bool:
        return attempt.outcome is Outcome.RETRY and dr["attempts"] <= self._settings.notify_retries

    async def _write(self, conn: AsyncConnection, settled: list[_Settled]) -> None:
        now = self._clock()
        finished: list[deliveries.Finished] = []
        retries: list[deliveries.Retry] = []
        untried: list[int] = []
        parked: list[int] = []
        for run in settled:
            untried.extend(run.untried)
            parked.extend(run.parked)
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
        # Alone (as DRs mostly end: delivered), the transaction's one statement.
        last = not (retries or untried or parked)
        await deliveries.finish_many(conn, finished, at=now, last=last)
        await deliveries.retry_many(conn, retries)
        await deliveries.release_unattempted(conn, untried)
        await notify_auth.park(conn, parked)
