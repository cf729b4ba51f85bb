"""Messages the business sends: accepted (or refused at once), then their status lifecycle,
sent, delivered and read, each a webhook; parked while the handset is offline."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import structlog

from wanode.sandbox.platform.core import Core
from wanode.sandbox.platform.events import Kind
from wanode.sandbox.platform.failures import (
    check_status,
    failure,
    reaction_failure,
    window_open,
)
from wanode.sandbox.rules import policies
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.hydration import Rendered, hydrate
from wanode.sandbox.rules.kinds import MediaRef
from wanode.sandbox.rules.validation import SendRequest
from wanode.sandbox.state.handsets import Handset, InboxEntry
from wanode.sandbox.state.media import StoredMedia
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.webhooks.payloads import new_wamid, status

log = structlog.get_logger(__name__)

# Meta sends only `sent` for reactions, never `delivered` or `read` (cloud-api.md §4.5).
_SENT_ONLY = frozenset({"reaction"})


@functools.lru_cache(maxsize=1024)
def _digits(display_phone_number: str) -> str:
    return "".join(filter(str.isdigit, display_phone_number))


class Messages(Core):
    """The business's messages to handsets (see `Core` for the state they use)."""

    def accept(
        self,
        number: BusinessNumber,
        api_version: str,
        request: SendRequest,
        payload: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> str:
        """Accept a valid send request; its statuses follow as webhooks. Returns the wamid.

        A request repeating the `idempotency_key` of one accepted before is answered with that
        one's wamid and nothing else happens: no second message, no rate-limit take.
        """
        if idempotency_key is not None:
            known = self.idempotency.answered(number.phone_number_id, idempotency_key)
            if known is not None:
                log.info(
                    "sandbox.message.replayed",
                    phone_number_id=number.phone_number_id,
                    wamid=known,
                )
                self.receive_log.replayed(
                    self.clock(), number.phone_number_id, known, idempotency_key
                )
                return known
        if request.wa_id == _digits(number.display_phone_number):
            raise MetaError(131021, "to: the recipient is the sending business number")
        policies.check_allowed(
            self.number_states.of(number.phone_number_id).allowed_recipients, request.wa_id
        )
        rendered = self._rendered(number, request)
        media = [(ref, self._media_of(number, ref)) for ref in request.media if ref.link is None]
        links = tuple(ref for ref in request.media if ref.link is not None)
        now = self.clock()
        # Last of the synchronous checks: a refused request takes nothing from the buckets.
        self.rates.send(number.phone_number_id, request.wa_id, now)
        handset = self.handsets.ensure(request.wa_id)
        category = rendered.category.lower() if rendered is not None else None
        outside_window = (
            self.config.enforce_window
            and request.kind != "template"
            and not window_open(handset, number, now)
        )
        entry = InboxEntry(
            wamid=new_wamid(request.wa_id),
            wa_id=request.wa_id,
            phone_number_id=number.phone_number_id,
            display_phone_number=number.display_phone_number,
            kind=request.kind,
            text=rendered.summary() if rendered is not None else request.summary,
            payload=payload,
            api_version=api_version,
            accepted_at=now,
            context_id=request.context_id,
            biz_opaque_callback_data=request.biz_opaque_callback_data,
            failure=(
                failure(
                    handset,
                    request,
                    media,
                    outside_window=outside_window,
                    restriction=self._restriction(handset, number, category, now),
                )
                or reaction_failure(handset, number.phone_number_id, request.reaction, now=now)
            ),
            template=rendered,
            category=category,
            links=links,
            idempotency_key=idempotency_key,
        )
        handset.inbox.append(entry)
        self._note(entry)
        self.receive_log.record(entry, idempotency_key)
        if idempotency_key is not None:
            self.idempotency.remember(number.phone_number_id, idempotency_key, entry.wamid)
        self._begin(entry, handset, asyncio.get_running_loop().time())
        log.info(
            "sandbox.message.accepted",
            phone_number_id=number.phone_number_id,
            wamid=entry.wamid,
            type=request.kind,
        )
        return entry.wamid

    def mark_read(self, number: BusinessNumber, message_id: str) -> None:
        """The business read an inbound message, and with it every earlier one in the thread."""
        found = self._inbound.get(message_id)
        if found is None or found[1].phone_number_id != number.phone_number_id:
            raise MetaError(
                100, f"message_id: {message_id!r} is not a message this number received"
            )
        handset, target = found
        for sent in handset.sent:
            if sent.phone_number_id == number.phone_number_id and sent.sent_at <= target.sent_at:
                sent.read = True
                self._note_sent(handset, sent)

    def start(self) -> None:
        """Start writing the state behind, and resume the statuses of the messages read back
        from the state file: what was due while the sandbox was down is emitted at once, the
        rest when due (delays count from acceptance, as always); a message parked on an offline
        handset waits for it still."""
        super().start()
        restored, self._restored = self._restored, []
        loop_now, wall_now = asyncio.get_running_loop().time(), self.clock()
        for handset, entry, waiting in restored:
            if waiting or entry.status in ("read", "failed"):
                continue
            start = loop_now - max(0.0, wall_now - entry.accepted_at)
            if entry.status is None:
                self._begin(entry, handset, start)
            elif entry.kind not in _SENT_ONLY:
                self._deliver(
                    entry,
                    handset,
                    delivered_at=start + handset.config.delivered_delay,
                    read_at=start + handset.config.read_delay,
                )

    def _restriction(
        self, handset: Handset, number: BusinessNumber, category: str | None, now: float
    ) -> tuple[int, str] | None:
        """Why what users did keeps this message from `handset`: it blocked the number
        (131026), blocks and spam reports restrict the number (131048), it stopped the
        number's marketing (131050) or got its share of marketing templates (131049)."""
        phone_number_id = number.phone_number_id
        if phone_number_id in handset.blocked:
            return 131026, policies.BLOCKED
        limit = self.config.spam_limit
        feedback = self.number_states.of(phone_number_id).feedback
        if (
            limit is not None
            and feedback
            and policies.recent(
                (f["at"] for f in feedback), now=now, window=self.config.spam_window
            )
            >= limit
        ):
            return 131048, policies.SPAM_RESTRICTED
        if category != "marketing":
            return None
        if phone_number_id in handset.marketing_stopped:
            return 131050, policies.MARKETING_STOPPED
        if self.config.marketing_limit is None:
            return None
        delivered = (
            e.accepted_at for e in handset.inbox if e.category == "marketing" and e.failure is None
        )
        if policies.marketing_capped(
            delivered,
            handset.last_wrote(),
            now=now,
            limit=self.config.marketing_limit,
            window=self.config.marketing_window,
        ):
            return 131049, policies.MARKETING_CAPPED
        return None

    def _rendered(self, number: BusinessNumber, request: SendRequest) -> Rendered | None:
        """A template message rendered from its approved template (see `rules.hydration`)."""
        send = request.template
        if send is None:
            return None
        template = self.templates.find(number.waba_id, send.name, send.language)
        return hydrate(check_status(template, send).spec, send)

    def _media_of(self, number: BusinessNumber, ref: MediaRef) -> StoredMedia:
        media = self.media.get(ref.media_id or "")
        if media is None or media.phone_number_id != number.phone_number_id:
            raise MetaError(
                131009,
                f"{ref.path}: {ref.media_id!r} is not the id of media uploaded for this "
                "phone number",
            )
        return media

    def _begin(self, entry: InboxEntry, handset: Handset, start: float) -> None:
        """From acceptance (at `start` on the loop's clock) to the last status: the first is due
        `sent_delay` after it (see `Timeline`)."""
        if entry.links and entry.failure is None and self.media_links is not None:
            self._spawn(self._fetch_links(entry, handset, start))
            return
        self._timeline.at(
            start + handset.config.sent_delay, self._first_status, entry, handset, start
        )

    async def _fetch_links(self, entry: InboxEntry, handset: Handset, start: float) -> None:
        # Meta fetches a link after accepting the message: its failure is asynchronous.
        assert self.media_links is not None
        entry.failure = await self.media_links.failure(entry.links)
        self._timeline.at(
            start + handset.config.sent_delay, self._first_status, entry, handset, start
        )

    def _first_status(self, entry: InboxEntry, handset: Handset, start: float) -> None:
        if entry.failure is not None:
            self._emit(entry, handset, "failed")
            return
        self._emit(entry, handset, "sent")
        if entry.kind in _SENT_ONLY:
            return
        self._deliver(
            entry,
            handset,
            delivered_at=start + handset.config.delivered_delay,
            read_at=start + handset.config.read_delay,
        )

    def _deliver(
        self, entry: InboxEntry, handset: Handset, *, delivered_at: float, read_at: float
    ) -> None:
        """Move a sent message to delivered, then read; park it whenever the handset is offline."""
        if entry.status == "sent":
            self._timeline.at(delivered_at, self._delivered, entry, handset, read_at)
        else:
            self._read_when(entry, handset, read_at)

    def _delivered(self, entry: InboxEntry, handset: Handset, read_at: float) -> None:
        if not handset.config.online:
            self._park(entry, handset)
            return
        self._emit(entry, handset, "delivered")
        self._read_when(entry, handset, read_at)

    def _read_when(self, entry: InboxEntry, handset: Handset, read_at: float) -> None:
        if handset.config.reads:
            self._timeline.at(read_at, self._read, entry, handset)

    def _read(self, entry: InboxEntry, handset: Handset) -> None:
        if not handset.config.reads:
            return
        if not handset.config.online:
            self._park(entry, handset)
            return
        self._emit(entry, handset, "read")

    def _park(self, entry: InboxEntry, handset: Handset) -> None:
        handset.waiting.append(entry)
        self._note(entry)

    def _resume(self, handset: Handset) -> None:
        """The handset came online: what waited is delivered now, and read after the usual gap."""
        waiting, handset.waiting = handset.waiting, []
        now = asyncio.get_running_loop().time()
        gap = max(0.0, handset.config.read_delay - handset.config.delivered_delay)
        for entry in waiting:
            self._note(entry)
            self._deliver(entry, handset, delivered_at=now, read_at=now + gap)

    def _emit(self, entry: InboxEntry, handset: Handset, name: str) -> None:
        # The inbox shows an entry from its first status on: then it is new to a watcher.
        kind: Kind = "inbox" if entry.status is None else "status"
        entry.status = name
        self._note(entry)
        self.events.publish(entry.wa_id, kind, entry.wamid, name)
        number = self._numbers[entry.phone_number_id]
        # Identity key hashes ride on webhooks only while the number's check is on.
        identity = (
            handset.identity_key_hash
            if self.number_states.of(number.phone_number_id).identity_check
            else None
        )
        self._post_status(
            number, status(entry, name, now=int(self.clock()), identity_key_hash=identity)
        )
        log.info("sandbox.status", wamid=entry.wamid, status=name)
