"""The platform's core: its state (see `wanode.sandbox.state`), the provisioned numbers and
their credentials, and the background work (status timers, webhook deliveries) it runs.

`Core` is the base of `wanode.sandbox.platform.Platform`; each module of this room adds one
concern to it (messages, customers, templates and media), importing only the one below.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import structlog

from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.faults import Faults
from wanode.sandbox.platform.events import HandsetEvents
from wanode.sandbox.platform.persistence import Persistence
from wanode.sandbox.platform.timeline import Timeline
from wanode.sandbox.rules.bsuid import user_id
from wanode.sandbox.rules.errors import MetaError, SandboxError
from wanode.sandbox.rules.media_links import MediaLinks
from wanode.sandbox.rules.rates import RateLimits
from wanode.sandbox.rules.tokens import RetiredTokens, bearer, bearer_header, same
from wanode.sandbox.state.handsets import Handset, Handsets, InboxEntry, SentEntry
from wanode.sandbox.state.idempotency import IdempotencyKeys
from wanode.sandbox.state.journal import Journal
from wanode.sandbox.state.media import MediaStore
from wanode.sandbox.state.number_state import NumberStates
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.state.qrdls import QrCodes
from wanode.sandbox.state.receive_log import ReceiveLog
from wanode.sandbox.state.state_file import StateFile
from wanode.sandbox.state.templates import Template, TemplateStore, sample_spec
from wanode.sandbox.webhooks.delivery import Webhooks
from wanode.sandbox.webhooks.identity import without_identity
from wanode.sandbox.webhooks.payloads import entry_bytes, envelope
from wanode.sandbox.webhooks.user_ids import with_user_ids

log = structlog.get_logger(__name__)


class Core:
    """A WhatsApp Business Platform in memory: its state and its numbers (see `Platform`).

    `clock` is its wall clock (Unix seconds): the time of inbound messages, of statuses and
    template events, and of the 24-hour window's and the rate limits' decisions. Tests move it
    to rehearse a window that closes or a rate limit that frees up; delays between statuses
    still run on the event loop's own clock.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock = clock
        self.handsets = Handsets(self.config.default_handset)
        self.media = MediaStore()
        self.templates = TemplateStore()
        self.qrdls = QrCodes()
        self.rates = RateLimits(self.config.throughput_mps, self.config.pair_limit)
        self.idempotency = IdempotencyKeys()
        self.faults = Faults(
            self.config.fault_rate,
            self.config.fault_kinds,
            self.config.fault_seed,
            self.config.fault_hang,
        )
        self.receive_log = ReceiveLog()
        # Who watches which handset, for live views (see `wanode.sandbox.platform.events`).
        self.events = HandsetEvents()
        # Media links are fetched and judged as Meta does, unless turned off
        # (`wanode.sandbox.rules.media_links`).
        self.media_links = (
            MediaLinks(timeout=self.config.media_fetch_timeout, clock=clock)
            if self.config.fetch_media
            else None
        )
        # Profile, settings, blocked users of each number (see `wanode.sandbox.state.number_state`).
        self.number_states = NumberStates(self.config.identity_check)
        self._retired_tokens = RetiredTokens()
        self._numbers: dict[str, BusinessNumber] = {}
        self._inbound: dict[str, tuple[Handset, SentEntry]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Every message's next status, on one timer (see `Timeline`).
        self._timeline = Timeline(self.config.status_tick)
        # Inbox entries read from the state file, with their handsets, for `start` to resume.
        self._restored: list[tuple[Handset, InboxEntry, bool]] = []
        # And the templates whose review was under way.
        self._reviews: list[Template] = []
        self._webhooks = Webhooks(self.config, self._numbers.get, webhook_transport)
        # With a state file, the state is read back now and written behind from `start` on.
        self.persistence = self._open_state() if self.config.state_file is not None else None

    def provision(self, number: BusinessNumber) -> None:
        """Add `number`, or replace the credentials and webhook URL of a known one.

        A WABA met for the first time gets Meta's sample template (see
        `wanode.sandbox.state.templates`).
        """
        new_waba = not self.templates.has_waba(number.waba_id) and not any(
            known.waba_id == number.waba_id for known in self._numbers.values()
        )
        known = self._numbers.get(number.phone_number_id)
        if known is not None and known.access_token != number.access_token:
            # Graph answers the replaced token 190 with subcode 463 (see `tokens`).
            self._retired_tokens.retire(known.access_token, self.clock())
        self._retired_tokens.revive(number.access_token)
        self._numbers[number.phone_number_id] = number
        if new_waba and self.config.sample_templates:
            self.templates.add(number.waba_id, sample_spec(), status="APPROVED")
        log.info(
            "sandbox.number.provisioned",
            phone_number_id=number.phone_number_id,
            waba_id=number.waba_id,
        )

    def numbers(self) -> list[BusinessNumber]:
        return list(self._numbers.values())

    def find_number(self, phone_number_id: str) -> BusinessNumber | None:
        return self._numbers.get(phone_number_id)

    def bearer_token(self, authorization: str | None) -> str:
        """The request's bearer token if some number has it; otherwise 190 (see `tokens`)."""
        return self._known_token(authorization)

    def number(self, phone_number_id: str) -> BusinessNumber:
        number = self._numbers.get(phone_number_id)
        if number is None:
            raise SandboxError(404, f"no business number {phone_number_id!r} is provisioned")
        return number

    def authorise(self, phone_number_id: str, authorization: str | None) -> BusinessNumber:
        """The number a Graph request acts for, if its bearer token may act for it.

        Like Graph, the token is judged first: a token no number knows is 190 even on an
        unknown number; a known token on an unknown number is 803.
        """
        number = self._numbers.get(phone_number_id)
        if number is not None and authorization is not None:
            # The usual request: exactly "Bearer <the number's token>", one comparison; what
            # `bearer` would judge any other way goes through it.
            expected = bearer_header(number.access_token)
            if expected is not None and same(authorization, expected):
                return number
        token = self._known_token(authorization)
        if number is None:
            raise MetaError(
                803,
                f"phone number id {phone_number_id!r} does not exist",
                error_type="GraphMethodException",
            )
        if not same(token, number.access_token):
            raise MetaError(
                190,
                "the access token may not act for this phone number",
                message="Invalid OAuth access token - the token may not act for this phone number",
            )
        return number

    def authorise_waba(self, waba_id: str, authorization: str | None) -> str:
        """The WABA a Graph request acts on, if the bearer token is one of its numbers' tokens.

        As for media, a WABA that does not exist and one the token may not act for answer the
        same 100.
        """
        token = self._known_token(authorization)
        if not any(
            number.waba_id == waba_id and same(token, number.access_token)
            for number in self._numbers.values()
        ):
            raise MetaError(
                100,
                f"Unsupported request - object with ID {waba_id!r} does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation",
                error_type="GraphMethodException",
            )
        return waba_id

    def number_of_display(self, digits: str) -> BusinessNumber | None:
        """The provisioned number whose display number has these digits (a wa.me link's)."""
        for number in self._numbers.values():
            if "".join(filter(str.isdigit, number.display_phone_number)) == digits:
                return number
        return None

    async def drain(self) -> None:
        """Wait until no status timer and no webhook delivery is pending.

        Messages parked on an offline handset do not count: they wait for the handset, not
        for time.
        """
        while True:
            pending = [task for task in self._tasks if not task.done()]
            if pending:
                await asyncio.wait(pending)
                continue
            if self._timeline:
                await self._timeline.join()
                continue
            await self._webhooks.join()
            if not self._timeline and not any(not task.done() for task in self._tasks):
                return

    def start(self) -> None:
        """Start writing the state behind (with a state file); needs a running event loop.
        The platform's layers above resume what was pending when the state was saved."""
        if self.persistence is not None:
            self.persistence.start()

    async def aclose(self) -> None:
        """Cancel every pending timer and webhook delivery and close the webhook client; with
        a state file, write the last changes to it (pending statuses resume at the next start)."""
        try:
            self.events.close()
            self._timeline.cancel()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._webhooks.aclose()
            if self.media_links is not None:
                await self.media_links.aclose()
        finally:
            # Whatever went wrong above, the state is written: it is what a restart resumes.
            if self.persistence is not None:
                await self.persistence.aclose()

    def _open_state(self) -> Persistence:
        """Read the state file back into memory, and the indexes derived from it."""
        assert self.config.state_file is not None
        journal = Journal(
            StateFile(self.config.state_file),
            numbers=self._numbers,
            number_states=self.number_states,
            templates=self.templates,
            handsets=self.handsets,
            media=self.media,
            qrdls=self.qrdls,
        )
        self._restored = journal.restore()
        self._reviews = [t for t in self.templates.all() if t.status == "PENDING"]
        for handset in self.handsets.all():
            for sent in handset.sent:
                self._inbound[sent.wamid] = (handset, sent)
        for _, entry, _ in self._restored:
            self.receive_log.record(entry, entry.idempotency_key)
            if entry.idempotency_key is not None:
                self.idempotency.remember(entry.phone_number_id, entry.idempotency_key, entry.wamid)
        log.info(
            "sandbox.state.restored",
            path=self.config.state_file,
            numbers=len(self._numbers),
            handsets=self.handsets.count(),
            messages=len(self._restored),
        )
        return Persistence(journal, self.config.state_flush)

    def _note(self, entry: InboxEntry) -> None:
        """An inbox entry changed: the next flush writes it (with a state file)."""
        if self.persistence is not None:
            self.persistence.journal.entry(entry)

    def _note_sent(self, handset: Handset, sent: SentEntry) -> None:
        """A message the handset sent was added, or marked read by the business."""
        if self.persistence is not None:
            self.persistence.journal.sent(handset, sent)
        if sent.read:
            self.events.publish(handset.wa_id, "status", sent.wamid, "read")
        else:
            self.events.publish(handset.wa_id, "sent", sent.wamid)

    def _note_handset(self, handset: Handset) -> None:
        if self.persistence is not None:
            self.persistence.journal.handset(handset)
        self.events.publish(handset.wa_id, "settings")

    def _known_token(self, authorization: str | None) -> str:
        """The bearer token of an `Authorization` header, if some provisioned number has it."""
        current = (n.access_token for n in self._numbers.values())
        return bearer(authorization, current, self._retired_tokens, self.clock())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sandbox.lifecycle.crashed", exc_info=task.exception())

    def _post_status(self, number: BusinessNumber, item: dict[str, Any]) -> None:
        """A status webhook: its one status item, and beside it the recipient's `contacts`
        entry with the BSUID (what `_post` makes of `{"statuses": [item]}`, built once)."""
        wa_id = item["recipient_id"]
        value = {
            "statuses": [item],
            "contacts": [{"wa_id": wa_id, "user_id": user_id(wa_id, number.waba_id)}],
        }
        self._webhooks.post_entry(number.phone_number_id, entry_bytes(number, value))

    def _post(self, number: BusinessNumber, value: dict[str, Any]) -> None:
        value = with_user_ids(value, number.waba_id)
        if not self.number_states.of(number.phone_number_id).identity_check:
            value = without_identity(value)
        self._webhooks.post(number.phone_number_id, envelope(number, value))
