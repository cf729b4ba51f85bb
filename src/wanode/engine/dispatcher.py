"""The dispatcher: claims queued messages, sends them, records the outcome, retries.

Each claimed message is sent by a task of its own, and its answer is recorded as soon as it
returns, many answers to a transaction (`GroupCommit`): nothing waits for the rest of its
batch, neither to be sent nor to be recorded, so a slow gateway call holds back only itself,
and a crash finds at most the sends of the last few milliseconds unrecorded. Those are "in
doubt" when claimed again (`store.messages.claim`): the app says whether they are sent again,
flagged possibly duplicated, or failed (at most once).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.codes import webex as codes
from wanode.config import Settings
from wanode.engine.gateways import Gateways, credentials
from wanode.engine.group_commit import GroupCommit, linger_for
from wanode.engine.in_flight import InFlight
from wanode.engine.pacing_status import tier_of
from wanode.engine.policies import contact_state, send_verdict
from wanode.engine.reports import Failure, Recording, record, record_many
from wanode.engine.reread import Reread
from wanode.gateway import Accepted, GatewayError, Rejected, SendResult
from wanode.guard import url_guard
from wanode.pacing import Bucket, Limiter, Rate, line_key, number_key, pair_key
from wanode.pacing.tier import counts_toward_tier
from wanode.policy import Verdict
from wanode.preflight import Preflight
from wanode.store import Database, lifecycle
from wanode.store import apps as app_queries
from wanode.store import contacts as contact_queries
from wanode.store import messages as outbox
from wanode.store import pacing as pacing_queries

log = structlog.get_logger(__name__)

THROUGHPUT_LIMIT = 130429
NUMBER_BURST = 2
PAIR_LIMIT = 131056
# A number that hit 130429 sends nothing for this long: its rate is counted per second.
THROUGHPUT_BACKOFF = 1.0
# 131056: Meta suggests waiting 4^X s; X stops growing here (4^4 = 256 s).
PAIR_BACKOFF_MAX_EXPONENT = 4
# A pacing wait this short is reserved and slept through by the send task instead of written
# back to the outbox; longer ones hold the message (rescheduled, not counted as an attempt).
SLEEP_AT_MOST = 0.5
# A send woken this long after its reserved slot takes a new one instead (`_paced`); after
# RESERVATIONS slots missed so, the message is held for a moment. Each new slot is the number's
# only: the pair's, taken with the first, stays this send's, but a hold gives it up (the pair's
# bucket is small: 45, then one per 6 s), so a busy loop takes many tries before it holds.
LATE_AT_MOST = 0.02
RESERVATIONS = 20
# Held messages come due on a grid of this step (`Dispatcher._hold`): a pass then claims the
# step's worth of a number's line (20 messages at 80 msg/s), each of them within
# SLEEP_AT_MOST of its slot. The loop is woken just after each step.
HOLD_GRID = 0.25
HOLD_WAKE_AFTER = 0.005
# Claimed messages on their way at once, as batches: a pass claims only what fits.
IN_FLIGHT_BATCHES = 4

IN_DOUBT = Counter(
    "wanode_sends_in_doubt",
    "Sends found unanswered after a crash: resent (flagged possibly duplicated where the "
    "gateway would not know the repeat) or failed (apps with in_doubt=fail).",
    ["action"],
)
IN_DOUBT_DETAILS = (
    "in doubt: the gateway may have accepted this message before wanode stopped; "
    "not sent again (the app's in_doubt setting is 'fail')"
)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        gateways: Gateways,
        settings: Settings,
        *,
        clock: Callable[[], float],
        preflight: Preflight | None = None,
        limiter: Limiter | None = None,
        wake: Callable[[], None] | None = None,
        recorded: Callable[[], None] | None = None,
    ) -> None:
        """`wake` is called when a pass left messages behind for lack of room and room has
        freed up, and when messages pacing held come due; `recorded`, when a send's outcome
        was recorded (its DR is queued)."""
        self._db = db
        self._gateways = gateways
        self._settings = settings
        self._clock = clock
        # Built on first use: an engine whose apps all skip the preflight never opens a client.
        self._preflight = preflight
        # Apps as first read (an API change makes the process forget one: `forget_app`), read
        # once for all the sends that need one: a campaign's first batch would read each app
        # once per message.
        self._apps: Reread[str, dict[str, Any] | None] = Reread(
            self._read_app, ttl=math.inf, clock=clock, keep=lambda app: app is not None
        )
        # Sends at once per app (per business number): a number whose calls hang holds only
        # its own messages.
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._recorded = recorded
        self._wake = wake
        # The grid steps a held message comes due at that have a wake-up on its way.
        self._wakes: set[float] = set()
        # Sends begun, answers accepted, pacing holds and retries: one writer for all, so the
        # starts of the next sends and the answers of the last go in the same transaction.
        self._writes: GroupCommit[_Start | Recording | _Hold | _Retry] = GroupCommit(
            db, self._write, name="wanode-dispatch-writer", linger=linger_for(db)
        )
        self._in_flight = InFlight(
            settings.dispatch_batch * IN_FLIGHT_BATCHES, wake=wake, name="wanode-send"
        )
        # None: pacing is off, WhatsApp's own limits are the only ones.
        self._limiter = limiter if settings.pacing else None
        # A burst of 2 lets two sends share an instant (one clock tick); a 1-second window
        # then holds at most rate + 1 sends.
        self._number_rate = Rate.per_second(settings.pacing_number_mps, burst=NUMBER_BURST)
        self._pair_rate = Rate(settings.pacing_pair_interval, settings.pacing_pair_burst)

    async def pump(self) -> int:
        """Claim a batch and start sending it; returns how many messages were claimed. The
        engine's loop calls this: it does not wait for the sends."""
        limit = self._in_flight.room(self._settings.dispatch_batch)
        if limit <= 0:
            return 0
        now = self._clock()
        async with self._db.begin() as conn:
            batch = await outbox.claim(
                conn, at=now, lease_seconds=self._settings.dispatch_lease_seconds, limit=limit
            )
            contacts = await contact_queries.policy_states(conn, [m["wa_id"] for m in batch])
        for message in batch:
            self._in_flight.start(self._dispatch(message, contacts.get(message["wa_id"])))
        return len(batch)

    async def run_once(self) -> int:
        """`pump`, then wait until every message it claimed is sent and recorded."""
        claimed = await self.pump()
        await self.drain()
        return claimed

    async def drain(self) -> None:
        """Wait for the sends on their way."""
        await self._in_flight.drain()

    def forget_app(self, app_id: str) -> None:
        self._apps.forget(app_id)

    async def aclose(self) -> None:
        """Close what the dispatcher built; the limiter belongs to whoever passed it in."""
        if self._preflight is not None:
            await self._preflight.aclose()

    def _preflight_for(self, app: dict[str, Any]) -> Preflight | None:
        enabled = self._settings.media_preflight
        if enabled is None:
            # Meta checks media itself when it downloads it; the sandbox does not, so there the
            # preflight is what catches a bad file.
            enabled = app["gateway"] == "sandbox"
        if not enabled:
            return None
        if self._preflight is None:
            self._preflight = Preflight(
                timeout=self._settings.media_preflight_timeout,
                cache_seconds=self._settings.media_preflight_cache_seconds,
                guard=url_guard(self._settings.private_urls_allowed()),
            )
        return self._preflight

    async def _app(self, app_id: str) -> dict[str, Any] | None:
        return await self._apps.get(app_id)

    async def _read_app(self, app_id: str) -> dict[str, Any] | None:
        async with self._db.begin() as conn:
            return await app_queries.get_app(conn, app_id)

    async def _dispatch(self, message: dict[str, Any], contact: dict[str, Any] | None) -> None:
        try:
            await self._send(message, contact)
        except Exception:
            # The lease expires and another pass retries it, in doubt; nothing accepted is
            # dropped.
            log.exception("dispatch_crashed", transid=message["transid"])
            return
        if self._recorded is not None:
            self._recorded()

    async def _send(self, message: dict[str, Any], contact: dict[str, Any] | None) -> None:
        app = await self._app(message["app_id"])
        if app is None:
            await self._fail(
                message,
                Failure(
                    codes.DR_CODES["7010"],
                    None,
                    "Unknown app",
                    f"app {message['app_id']} no longer exists",
                ),
            )
            return
        if message["in_doubt"] and not await self._resend_in_doubt(message, app):
            return
        verdict = self._policies(message, contact, app)
        if not verdict.allowed:
            assert verdict.dr is not None
            log.info(
                "policy_refused",
                transid=message["transid"],
                policy=verdict.policy,
                code=verdict.code,
            )
            meta = verdict.meta.code if verdict.meta is not None else None
            await self._fail(
                message, Failure(verdict.dr, meta, verdict.dr.description, verdict.reason)
            )
            return
        preflight = self._preflight_for(app)
        if preflight is not None:
            refusal = await preflight.check(message["payload"])
            if refusal is not None:
                # The reason names the field, never the link: signed URLs carry credentials.
                log.info(
                    "media_preflight_refused",
                    transid=message["transid"],
                    field=refusal.field,
                    reason=refusal.reason,
                )
                await self._fail(
                    message,
                    Failure(refusal.dr, refusal.meta_code, refusal.title, refusal.details),
                )
                return
        if not await self._within_tier(message, contact, app):
            return
        result = await self._attempt(message, app)
        if result is None:
            return
        if isinstance(result, GatewayError):
            await self._retry_or_fail(
                message,
                None,
                type(result).__name__,
                str(result),
                possibly_duplicated=result.ambiguous and not _honours_idempotency(app),
            )
            return
        if isinstance(result, LookupError):
            await self._retry_or_fail(message, None, type(result).__name__, str(result))
            return
        if isinstance(result, Accepted):
            # The 7501 DR carries the customer's hash as last seen (a webhook, a reply), as
            # every DR does: sending without one is how a caller learns the new hash.
            known_hash = contact.get("identity_key_hash") if contact is not None else None
            await self._writes.add(
                Recording(
                    message,
                    lifecycle.SUBMITTED,
                    self._clock(),
                    wamid=result.wamid,
                    identity_key_hash=known_hash,
                )
            )
            log.debug("message_submitted", transid=message["transid"], wamid=result.wamid)
            return
        assert isinstance(result, Rejected)
        if result.code == PAIR_LIMIT:
            await self._pair_limited(message, app, result)
            return
        if result.code == THROUGHPUT_LIMIT and self._limiter is not None:
            # Our count and WhatsApp's disagree (another sender on the number, a lower tier):
            # stop the whole number for a window; this message retries as before.
            now = self._clock()
            await self._limiter.block(
                number_key(app["phone_number_id"]),
                self._number_rate,
                now + THROUGHPUT_BACKOFF,
                now,
            )
            log.info("number_throttled", phone_number_id=app["phone_number_id"])
        if result.retryable:
            await self._retry_or_fail(message, result.code, result.title, result.details)
        else:
            await self._fail(message, Failure.from_meta(result.code, result.title, result.details))

    async def _attempt(
        self, message: dict[str, Any], app: dict[str, Any]
    ) -> SendResult | GatewayError | LookupError | None:
        """Begin the send, wait for its pacing slot and send; None when pacing held the
        message or its claim was lost. Holds one of the app's sending slots throughout, and
        only then: what is recorded after the answer does not keep the next send waiting."""
        slots = self._slots.get(app["id"])
        if slots is None:
            slots = self._slots[app["id"]] = asyncio.Semaphore(self._settings.dispatch_concurrency)
        async with slots:
            # Durable before the request can leave: a crash from here on leaves the message
            # in doubt (`store.messages.claim`). Written before pacing's reservation, whose
            # wait starts then: a start's write (a group commit, slower on a busy machine)
            # inside the wait would make sends late for their slots.
            start = _Start(message["transid"], message["lease_until"])
            await self._writes.add(start)
            if not start.held:
                # The lease ran out while the send waited its turn, and another claim took
                # the message: that claim's sender sends it.
                log.warning("claim_lost", transid=message["transid"])
                return None
            placed = message.get("held_reason") == "pacing"
            slot = await self._slot(message, app, self._buckets(message, app), placed=placed)
            if slot is None or not await self._on_time(message, app, slot):
                return None
            try:
                gateway = self._gateways.for_app(app)
                # The transid, the same on every attempt: a gateway that honours the key (the
                # sandbox) answers a repeated one with the first answer instead of sending
                # again.
                return await gateway.send(
                    credentials(app), message["payload"], idempotency_key=message["transid"]
                )
            except (GatewayError, LookupError) as exc:
                return exc

    def _buckets(self, message: dict[str, Any], app: dict[str, Any]) -> list[Bucket]:
        number = app["phone_number_id"]
        return [
            (number_key(number), self._number_rate),
            (pair_key(number, message["wa_id"]), self._pair_rate),
        ]

    async def _within_tier(
        self, message: dict[str, Any], contact: dict[str, Any] | None, app: dict[str, Any]
    ) -> bool:
        """Take the customer's place in the app's messaging tier, or hold the message until
        the rolling window frees one (wanode.pacing.tier). Only templates outside the 24-hour
        window count; the window is the contact's real one even with WANODE_POLICY_WINDOW off.
        """
        limit = tier_of(app, self._settings)
        now = self._clock()
        if limit is None or not counts_toward_tier(
            is_template=message["kind"] == "template",
            last_inbound_at=contact_state(contact).last_inbound_at,
            now=now,
        ):
            return True
        async with self._db.begin() as conn:
            decision = await pacing_queries.reserve(
                conn, app["id"], message["wa_id"], limit=limit, now=now
            )
            if decision.allowed:
                return True
            assert decision.retry_at is not None
            await outbox.hold(
                conn, message["transid"], next_attempt_at=decision.retry_at, reason="tier"
            )
        log.info(
            "message_held_by_tier",
            transid=message["transid"],
            app_id=app["id"],
            tier=limit,
            until=decision.retry_at,
        )
        return False

    async def _slot(
        self, message: dict[str, Any], app: dict[str, Any], buckets: list[Bucket], *, placed: bool
    ) -> float | None:
        """Reserve the send's slot in `buckets` and return its moment, or hold the message
        (recorded with the next group commit) and return None when the slot is further off
        than `SLEEP_AT_MOST`.

        A reservation, not a check after the sleep: the next send gets the slot after this
        one, so the tasks of a batch take the number's slots in turn. A held message takes a
        place in the number's line (`wanode.pacing.gcra.line_up`) and comes back at it: held
        messages come due one after another at the number's rate, not all at its next free
        slot to be claimed and held again, and a new message queues behind them (`placed`:
        this one comes back from its place).
        """
        now = self._clock()
        if self._limiter is None:
            return now
        wait = await self._limiter.line_up(
            buckets,
            now,
            reserve_within=SLEEP_AT_MOST,
            line=line_key(app["phone_number_id"]),
            placed=placed,
        )
        if wait <= SLEEP_AT_MOST:
            return now + wait
        await self._hold(message, now + wait)
        return None

    async def _on_time(self, message: dict[str, Any], app: dict[str, Any], at: float) -> bool:
        """Wait for the slot reserved at `at`; False when the message was held instead.

        A task the event loop wakes more than `LATE_AT_MOST` after its slot does not send
        late (with the sends of the slots after it, more than the rate could land in one
        second): it takes a new slot from the number's bucket (the pair's is kept: a few
        milliseconds do not matter to a one-per-6-seconds rule).
        """
        if self._limiter is None:
            return True
        for _ in range(RESERVATIONS):
            wait = at - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._clock() - at <= LATE_AT_MOST:
                return True
            slot = await self._slot(message, app, self._buckets(message, app)[:1], placed=True)
            if slot is None:
                return False
            at = slot
        await self._hold(message, self._clock() + LATE_AT_MOST)
        return False

    async def _hold(self, message: dict[str, Any], until: float) -> None:
        """Hold the message until `until`, rounded up to the next `HOLD_GRID` step: held
        messages come back a step's worth to a pass, and the dispatcher's loop is woken for
        each step (no poll to wait for)."""
        until = math.ceil(until / HOLD_GRID) * HOLD_GRID
        await self._writes.add(_Hold(message["transid"], until))
        log.debug("message_held", transid=message["transid"], until=until)
        if self._wake is not None and until not in self._wakes:
            self._wakes.add(until)
            asyncio.get_running_loop().call_later(
                max(0.0, until - self._clock()) + HOLD_WAKE_AFTER, self._held_due, until
            )

    def _held_due(self, until: float) -> None:
        self._wakes.discard(until)
        if self._wake is not None:
            self._wake()

    async def _write(
        self, conn: AsyncConnection, items: list[_Start | Recording | _Hold | _Retry]
    ) -> None:
        """Record sends begun, accepted sends, pacing holds and retries, as many as have come
        in."""
        accepted = [item for item in items if isinstance(item, Recording)]
        if accepted:
            await record_many(conn, accepted, now=self._clock(), source="gateway")
        holds = [(item.transid, item.until) for item in items if isinstance(item, _Hold)]
        await outbox.hold_many(conn, holds, reason="pacing")
        retries = [item for item in items if isinstance(item, _Retry)]
        for item in retries:
            await outbox.reschedule(
                conn,
                item.transid,
                next_attempt_at=item.next_attempt_at,
                code=item.code,
                title=item.title,
                details=item.details,
                possibly_duplicated=item.possibly_duplicated,
            )
        starts = [item for item in items if isinstance(item, _Start)]
        if starts:
            held = await outbox.mark_sending(
                conn,
                [(start.transid, start.lease_until) for start in starts],
                at=self._clock(),
                lease_seconds=self._settings.dispatch_lease_seconds,
                # Alone (sends beginning, nothing answered yet), the transaction's one statement.
                last=not (accepted or holds or retries),
            )
            for start in starts:
                start.held = start.transid in held

    async def _resend_in_doubt(self, message: dict[str, Any], app: dict[str, Any]) -> bool:
        """A send a crash left unanswered: True to send it again (flagged possibly duplicated
        where the gateway would not recognise the repeat), False when it was failed because
        its app wants at most once."""
        if app.get("in_doubt") == "fail":
            IN_DOUBT.labels("failed").inc()
            log.warning("message_in_doubt", transid=message["transid"], action="failed")
            await self._fail(
                message, Failure(codes.DR_CODES["7010"], None, "In doubt", IN_DOUBT_DETAILS)
            )
            return False
        IN_DOUBT.labels("resent").inc()
        log.warning("message_in_doubt", transid=message["transid"], action="resent")
        if not _honours_idempotency(app) and not message["possibly_duplicated"]:
            async with self._db.begin() as conn:
                await outbox.flag_possibly_duplicated(conn, message["transid"])
            message["possibly_duplicated"] = True
        return True

    async def _pair_limited(
        self, message: dict[str, Any], app: dict[str, Any], result: Rejected
    ) -> None:
        """131056: retry after 4^X s, X the times this message has hit it, and keep every other
        message to the pair back as long.

        The outbox keeps only the last error, so X is the earlier attempts of a message whose
        last attempt also hit 131056 (exact while the pair keeps refusing it).
        """
        attempts = int(message["attempts"])
        strikes = attempts - 1 if message.get("error_code") == PAIR_LIMIT else 0
        delay = min(
            4.0 ** min(strikes, PAIR_BACKOFF_MAX_EXPONENT), self._settings.dispatch_backoff_max
        )
        if self._limiter is not None and attempts < self._settings.dispatch_max_attempts:
            now = self._clock()
            key, rate = self._buckets(message, app)[1]
            await self._limiter.block(key, rate, now + delay, now)
        await self._retry_or_fail(message, result.code, result.title, result.details, delay=delay)

    async def _retry_or_fail(
        self,
        message: dict[str, Any],
        code: int | None,
        title: str,
        details: str,
        *,
        delay: float | None = None,
        possibly_duplicated: bool = False,
    ) -> None:
        """Retry after `delay`, or after the exponential backoff when it is None.

        `possibly_duplicated`: the attempt may have reached WhatsApp, which will not recognise
        the retry as the same message; the message is marked so if it is tried again.
        """
        attempts = int(message["attempts"])
        if attempts >= self._settings.dispatch_max_attempts:
            failure = (
                Failure.from_meta(code, title, details)
                if code is not None
                else Failure(codes.DR_CODES["7010"], None, title, details)
            )
            await self._fail(message, failure)
            return
        if delay is None:
            delay = min(
                self._settings.dispatch_backoff_base * 2 ** (attempts - 1),
                self._settings.dispatch_backoff_max,
            )
            delay *= random.uniform(0.8, 1.2)
        # Through the group commit: a transaction of its own per retry was a large share of
        # the CPU that faulty answers cost (tests/reliability/test_faults.py).
        await self._writes.add(
            _Retry(
                message["transid"],
                self._clock() + delay,
                code,
                title,
                details,
                possibly_duplicated,
            )
        )
        if possibly_duplicated:
            log.warning(
                "message_possibly_duplicated",
                transid=message["transid"],
                app_id=message["app_id"],
                attempt=attempts,
            )
        log.info(
            "dispatch_retry",
            transid=message["transid"],
            attempt=attempts,
            code=code,
            reason=title,
            delay=round(delay, 2),
        )

    async def _fail(self, message: dict[str, Any], failure: Failure) -> None:
        at = self._clock()
        async with self._db.begin() as conn:
            await record(
                conn,
                message,
                lifecycle.FAILED,
                at=at,
                now=at,
                source="gateway",
                failure=failure,
            )
        log.info(
            "message_failed",
            transid=message["transid"],
            code=failure.meta_code,
            dr_code=failure.dr.code,
        )

    def _policies(
        self, message: dict[str, Any], contact: dict[str, Any] | None, app: dict[str, Any]
    ) -> Verdict:
        """Expiry, the 24-hour window and opt-in, as `wanode.policy.check_send` decides them."""
        return send_verdict(
            message,
            contact,
            app,
            now=self._clock(),
            enforce_window=self._settings.policy_window,
        )


@dataclass
class _Start:
    """A send about to begin under the claim that leased its message until `lease_until`;
    `held` says, once written, whether that claim still holds it."""

    transid: str
    lease_until: float
    held: bool = False


@dataclass(frozen=True)
class _Hold:
    """A message pacing holds until `until` (no attempt counted)."""

    transid: str
    until: float


@dataclass(frozen=True)
class _Retry:
    """A failed attempt: the message is tried again at `next_attempt_at`, its last error kept
    (`possibly_duplicated` marks it for good)."""

    transid: str
    next_attempt_at: float
    code: int | None
    title: str
    details: str
    possibly_duplicated: bool


def _honours_idempotency(app: dict[str, Any]) -> bool:
    """The sandbox answers a repeated idempotency key with its first answer; the Cloud API
    ignores the header, so a retry there may deliver the message again."""
    return bool(app["gateway"] == "sandbox")
