"""The sandbox platform: provisioned numbers, handsets, and each message's status lifecycle."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import structlog
from starlette.types import ASGIApp

from wanode.sandbox import inbound, reactions
from wanode.sandbox.actions import Actions
from wanode.sandbox.app import build_app
from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.errors import MetaError, SandboxError
from wanode.sandbox.faults import Faults
from wanode.sandbox.handsets import (
    Handset,
    Handsets,
    InboxEntry,
    SentEntry,
    new_identity_key_hash,
)
from wanode.sandbox.hydration import Rendered, check_status, hydrate
from wanode.sandbox.idempotency import IdempotencyKeys
from wanode.sandbox.kinds import MediaRef
from wanode.sandbox.media import MediaStore, StoredMedia, types_for
from wanode.sandbox.media_links import MediaLinks
from wanode.sandbox.number_state import NumberStates, without_identity
from wanode.sandbox.numbers import BusinessNumber
from wanode.sandbox.payloads import envelope, new_wamid, status
from wanode.sandbox.qrdls import QrCodes
from wanode.sandbox.rates import RateLimits
from wanode.sandbox.receive_log import ReceiveLog
from wanode.sandbox.template_spec import TemplateSpec
from wanode.sandbox.templates import (
    CONTROL_STATUSES,
    REJECTION_REASONS,
    Template,
    TemplateStore,
    review,
    sample_spec,
    status_update,
)
from wanode.sandbox.tokens import RetiredTokens, bearer
from wanode.sandbox.validation import SendRequest
from wanode.sandbox.webhooks import Webhooks

log = structlog.get_logger(__name__)

# Meta sends only `sent` for reactions, never `delivered` or `read` (cloud-api.md §4.5).
_SENT_ONLY = frozenset({"reaction"})
# The customer-service window: how long after a user's last message the business may send
# anything; outside it, templates only (cloud-api.md §5).
CUSTOMER_SERVICE_WINDOW = 24 * 60 * 60
_OUTSIDE_WINDOW = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)


class Sandbox:
    """A WhatsApp Business Platform in memory. `app` is its ASGI app (see `wanode.sandbox.app`).

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
        self.actions = Actions(self)
        self.rates = RateLimits(self.config.throughput_mps, self.config.pair_limit)
        self.idempotency = IdempotencyKeys()
        self.faults = Faults(
            self.config.fault_rate,
            self.config.fault_kinds,
            self.config.fault_seed,
            self.config.fault_hang,
        )
        self.receive_log = ReceiveLog()
        # Media links are fetched and judged as Meta does, unless turned off (`media_links`).
        self.media_links = (
            MediaLinks(timeout=self.config.media_fetch_timeout, clock=clock)
            if self.config.fetch_media
            else None
        )
        # Profile, settings, blocked users of each number (see `number_state`).
        self.number_states = NumberStates(self.config.identity_check)
        self._retired_tokens = RetiredTokens()
        self._numbers: dict[str, BusinessNumber] = {}
        self._inbound: dict[str, tuple[Handset, SentEntry]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._webhooks = Webhooks(self.config, self._numbers.get, webhook_transport)
        self.app: ASGIApp = build_app(self)

    def provision(self, number: BusinessNumber) -> None:
        """Add `number`, or replace the credentials and webhook URL of a known one.

        A WABA met for the first time gets Meta's sample template (see `templates`).
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
        token = self._known_token(authorization)
        number = self._numbers.get(phone_number_id)
        if number is None:
            raise MetaError(
                803,
                f"phone number id {phone_number_id!r} does not exist",
                error_type="GraphMethodException",
            )
        if not _same(token, number.access_token):
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
            number.waba_id == waba_id and _same(token, number.access_token)
            for number in self._numbers.values()
        ):
            raise MetaError(
                100,
                f"Unsupported request - object with ID {waba_id!r} does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation",
                error_type="GraphMethodException",
            )
        return waba_id

    def create_template(self, waba_id: str, spec: TemplateSpec) -> Template:
        """Keep a new template PENDING and start its review (see `templates`)."""
        now = self.clock()
        if self.templates.find(waba_id, spec.name, spec.language) is not None:
            raise MetaError(
                100,
                f"name: Content in this language already exists: {spec.name!r} already has "
                f"a {spec.language} translation",
            )
        if self.templates.reuse_blocked(waba_id, spec.name, now=now):
            raise MetaError(
                100,
                f"name: {spec.name!r} was deleted while approved and cannot be used again for "
                "30 days",
            )
        template = self.templates.add(waba_id, spec)
        self._spawn(self._review(template))
        log.info(
            "sandbox.template.created",
            waba_id=waba_id,
            template_id=template.template_id,
            name=spec.name,
        )
        return template

    def delete_templates(self, waba_id: str, name: str, hsm_id: str | None) -> None:
        """Delete every language of `name`, or with `hsm_id` only that template (§3.2)."""
        named = [t for t in self.templates.of(waba_id) if t.spec.name == name]
        if hsm_id is not None:
            named = [t for t in named if t.template_id == hsm_id]
        if not named:
            what = f"{name!r} with hsm_id {hsm_id!r}" if hsm_id is not None else repr(name)
            raise MetaError(100, f"name: there is no message template {what} to delete")
        if any(t.status == "DISABLED" for t in named):
            raise MetaError(
                100, f"name: {name!r} is DISABLED; disabled templates cannot be deleted"
            )
        now = self.clock()
        for template in named:
            self.templates.remove(template, now=now)
            previous, template.status = template.status, "DELETED"
            self._template_webhook(template, "DELETED", previous)

    def set_template_status(self, template_id: str, changes: Any) -> Template:
        """The control panel moves a template to APPROVED, REJECTED, PAUSED or DISABLED."""
        template = self.templates.get(template_id)
        if template is None:
            raise SandboxError(404, f"no template {template_id!r}")
        if not isinstance(changes, dict):
            raise SandboxError(400, "body must be a JSON object")
        unknown = sorted(set(changes) - {"status", "reason"})
        if unknown:
            raise SandboxError(400, f"unknown field {unknown[0]!r}")
        new = changes.get("status")
        if new not in CONTROL_STATUSES:
            raise SandboxError(400, f"status must be one of {', '.join(CONTROL_STATUSES)}")
        reason = changes.get("reason")
        if reason is not None and new != "REJECTED":
            raise SandboxError(400, "reason: only a rejection has a reason")
        if new == "REJECTED" and reason is None:
            reason = "INVALID_FORMAT"
        if reason is not None and reason not in REJECTION_REASONS:
            raise SandboxError(400, f"reason must be one of {', '.join(REJECTION_REASONS)}")
        if new == "PAUSED" and template.status != "APPROVED":
            raise SandboxError(
                409, f"only an APPROVED template can be paused; this is {template.status}"
            )
        self._change_template(template, new, reason or "NONE")
        return template

    async def _review(self, template: Template) -> None:
        await asyncio.sleep(self.config.template_review_delay)
        # Deleted, or moved by the control panel meanwhile: the review has nothing to decide.
        if template.status == "PENDING" and self.templates.get(template.template_id) is template:
            self._change_template(template, *review(template.spec))

    def _change_template(self, template: Template, new: str, reason: str) -> None:
        previous = template.status
        if (previous, template.reason) == (new, reason):
            return
        template.status, template.reason = new, reason
        if new == "PAUSED":
            template.pauses += 1
        self._template_webhook(template, new, previous)
        log.info(
            "sandbox.template.status",
            template_id=template.template_id,
            status=new,
            reason=reason,
        )

    def _template_webhook(self, template: Template, event: str, previous: str) -> None:
        """Send the status update once to each webhook URL among the WABA's numbers."""
        body = status_update(template, event, previous=previous, now=int(self.clock()))
        urls: set[str | None] = set()
        for number in self._numbers.values():
            if number.waba_id == template.waba_id and number.webhook_url not in urls | {None}:
                urls.add(number.webhook_url)
                self._webhooks.post(number.phone_number_id, body)

    def upload(
        self, number: BusinessNumber, data: bytes, mime_type: str, filename: str
    ) -> StoredMedia:
        """Keep media uploaded for `number`; `mime_type` comes from `media.upload_type`."""
        media = self.media.add(number.phone_number_id, data, mime_type, filename)
        log.info(
            "sandbox.media.uploaded",
            phone_number_id=number.phone_number_id,
            media_id=media.media_id,
            mime_type=mime_type,
            size=len(data),
        )
        return media

    def uploaded(
        self, media_id: str, authorization: str | None, phone_number_id: str | None = None
    ) -> StoredMedia:
        """Uploaded media the bearer token may read or delete (`/{media-id}` and its download).

        As in Graph, media that does not exist, belongs to a number the token cannot act for,
        or (with the optional `phone_number_id`) to another number all answer the same 100.
        """
        token = self._known_token(authorization)
        media = self.media.get(media_id)
        owner = self._numbers.get(media.phone_number_id) if media is not None else None
        if (
            media is None
            or owner is None
            or not _same(token, owner.access_token)
            or phone_number_id not in (None, media.phone_number_id)
        ):
            raise MetaError(
                100,
                f"Unsupported request - media {media_id!r} does not exist, cannot be loaded "
                "due to missing permissions, or does not support this operation",
                error_type="GraphMethodException",
            )
        return media

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
        if request.wa_id == "".join(filter(str.isdigit, number.display_phone_number)):
            raise MetaError(131021, "to: the recipient is the sending business number")
        rendered = self._rendered(number, request)
        media = [(ref, self._media_of(number, ref)) for ref in request.media if ref.link is None]
        links = tuple(ref for ref in request.media if ref.link is not None)
        now = self.clock()
        # Last of the synchronous checks: a refused request takes nothing from the buckets.
        self.rates.send(number.phone_number_id, request.wa_id, now)
        handset = self.handsets.ensure(request.wa_id)
        outside_window = (
            self.config.enforce_window
            and request.kind != "template"
            and not _window_open(handset, number, now)
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
                _failure(handset, request, media, outside_window=outside_window)
                or reactions.failure(handset, number.phone_number_id, request.reaction, now=now)
            ),
            template=rendered,
            category=rendered.category.lower() if rendered is not None else None,
        )
        handset.inbox.append(entry)
        self.receive_log.record(entry, idempotency_key)
        if idempotency_key is not None:
            self.idempotency.remember(number.phone_number_id, idempotency_key, entry.wamid)
        self._spawn(self._lifecycle(entry, handset, links))
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

    def configure(self, wa_id: str, changes: dict[str, Any]) -> Handset:
        """Apply partial handset settings (and an optional profile `name`); creates the handset."""
        settings = dict(changes)
        name = settings.pop("name", None)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise SandboxError(400, "name must be a non-empty string")
        known = self.handsets.get(wa_id)
        current = known.config if known is not None else self.config.default_handset
        try:
            config = current.updated(settings)
        except ValueError as exc:
            raise SandboxError(400, str(exc)) from exc
        handset = self.handsets.ensure(wa_id)
        came_online = config.online and not current.online
        handset.config = config
        if name is not None:
            handset.name = name
        if came_online:
            self._resume(handset)
        return handset

    def rotate_identity(self, wa_id: str) -> str:
        """Give the handset a new identity key hash, as a reinstall or a new phone would."""
        handset = self.handsets.ensure(wa_id)
        handset.identity_key_hash = new_identity_key_hash()
        log.info("sandbox.handset.identity_rotated", wa_id=wa_id)
        return handset.identity_key_hash

    def send_text(
        self, wa_id: str, phone_number_id: str, body: str, *, reply_to: str | None = None
    ) -> str:
        """The handset sends a text to the business; returns the inbound wamid."""
        number = self.number(phone_number_id)
        handset = self.ready(wa_id)
        context = self.reply_context(handset, number, reply_to)
        return self.receive(handset, number, "text", body, {"body": body}, context)

    def ready(self, wa_id: str) -> Handset:
        """The handset `wa_id`, if it can send: a WhatsApp user, online (409 otherwise)."""
        handset = self.handsets.ensure(wa_id)
        if not handset.config.exists:
            raise SandboxError(409, f"{wa_id} is not a WhatsApp user and cannot send messages")
        if not handset.config.online:
            raise SandboxError(409, f"{wa_id} is offline; bring it online to send")
        return handset

    def reply_context(
        self, handset: Handset, number: BusinessNumber, reply_to: str | None
    ) -> inbound.Context | None:
        """The `context` of a quoted reply to `reply_to`, a message `number` sent the handset."""
        if reply_to is None:
            return None
        if not any(
            e.wamid == reply_to and e.phone_number_id == number.phone_number_id
            for e in handset.received()
        ):
            raise SandboxError(400, f"reply_to: {reply_to!r} is not in this handset's inbox")
        return number.display_phone_number, reply_to

    def receive(
        self,
        handset: Handset,
        number: BusinessNumber,
        kind: str,
        summary: str,
        body: Any,
        context: inbound.Context | None = None,
    ) -> str:
        """Deliver a message of `kind` (its object `body`) from the handset to `number`'s
        webhook; returns its wamid. `summary` is how the handset's sent list shows it."""
        if handset.wa_id in self.number_states.of(number.phone_number_id).blocked:
            raise SandboxError(409, f"the business {number.phone_number_id} blocked this user")
        now = self.clock()
        wamid = new_wamid(handset.wa_id)
        message = inbound.message(
            handset, wamid, now=int(now), kind=kind, body=body, context=context
        )
        self._post(number, {"contacts": [inbound.contact(handset)], "messages": [message]})
        self.rates.received(number.phone_number_id, now)
        sent = SentEntry(wamid, number.phone_number_id, kind, summary, sent_at=now)
        handset.sent.append(sent)
        self._inbound[wamid] = (handset, sent)
        log.info(
            "sandbox.message.inbound",
            phone_number_id=number.phone_number_id,
            wamid=wamid,
            type=kind,
        )
        return wamid

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
            await self._webhooks.join()
            if not any(not task.done() for task in self._tasks):
                return

    async def aclose(self) -> None:
        """Cancel every pending timer and webhook delivery and close the webhook client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._webhooks.aclose()
        if self.media_links is not None:
            await self.media_links.aclose()

    def _known_token(self, authorization: str | None) -> str:
        """The bearer token of an `Authorization` header, if some provisioned number has it."""
        current = (n.access_token for n in self._numbers.values())
        return bearer(authorization, current, self._retired_tokens, self.clock())

    def _rendered(self, number: BusinessNumber, request: SendRequest) -> Rendered | None:
        """A template message rendered from its approved template (see `hydration`)."""
        send = request.template
        if send is None:
            return None
        template = self.templates.find(number.waba_id, send.name, send.language)
        return hydrate(check_status(template, send), send)

    def _media_of(self, number: BusinessNumber, ref: MediaRef) -> StoredMedia:
        media = self.media.get(ref.media_id or "")
        if media is None or media.phone_number_id != number.phone_number_id:
            raise MetaError(
                131009,
                f"{ref.path}: {ref.media_id!r} is not the id of media uploaded for this "
                "phone number",
            )
        return media

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sandbox.lifecycle.crashed", exc_info=task.exception())

    async def _lifecycle(
        self, entry: InboxEntry, handset: Handset, links: tuple[MediaRef, ...] = ()
    ) -> None:
        start = asyncio.get_running_loop().time()
        if links and entry.failure is None and self.media_links is not None:
            # Meta fetches a link after accepting the message: its failure is asynchronous.
            entry.failure = await self.media_links.failure(links)
        await _sleep_until(start + handset.config.sent_delay)
        if entry.failure is not None:
            self._emit(entry, handset, "failed")
            return
        self._emit(entry, handset, "sent")
        if entry.kind in _SENT_ONLY:
            return
        await self._deliver(
            entry,
            handset,
            delivered_at=start + handset.config.delivered_delay,
            read_at=start + handset.config.read_delay,
        )

    async def _deliver(
        self, entry: InboxEntry, handset: Handset, *, delivered_at: float, read_at: float
    ) -> None:
        """Move a sent message to delivered, then read; park it whenever the handset is offline."""
        if entry.status == "sent":
            await _sleep_until(delivered_at)
            if not handset.config.online:
                handset.waiting.append(entry)
                return
            self._emit(entry, handset, "delivered")
        if not handset.config.reads:
            return
        await _sleep_until(read_at)
        if not handset.config.reads:
            return
        if not handset.config.online:
            handset.waiting.append(entry)
            return
        self._emit(entry, handset, "read")

    def _resume(self, handset: Handset) -> None:
        """The handset came online: what waited is delivered now, and read after the usual gap."""
        waiting, handset.waiting = handset.waiting, []
        now = asyncio.get_running_loop().time()
        gap = max(0.0, handset.config.read_delay - handset.config.delivered_delay)
        for entry in waiting:
            self._spawn(self._deliver(entry, handset, delivered_at=now, read_at=now + gap))

    def _emit(self, entry: InboxEntry, handset: Handset, name: str) -> None:
        entry.status = name
        item = status(
            entry, name, now=int(self.clock()), identity_key_hash=handset.identity_key_hash
        )
        self._post(self._numbers[entry.phone_number_id], {"statuses": [item]})
        log.info("sandbox.status", wamid=entry.wamid, status=name)

    def _post(self, number: BusinessNumber, value: dict[str, Any]) -> None:
        if not self.number_states.of(number.phone_number_id).identity_check:
            value = without_identity(value)
        self._webhooks.post(number.phone_number_id, envelope(number, value))


def _window_open(handset: Handset, number: BusinessNumber, now: float) -> bool:
    """Whether the handset wrote to `number` less than 24 hours before `now` (§5)."""
    last = handset.last_sent_to(number.phone_number_id)
    return last is not None and now - last < CUSTOMER_SERVICE_WINDOW


def _failure(
    handset: Handset,
    request: SendRequest,
    media: list[tuple[MediaRef, StoredMedia]],
    *,
    outside_window: bool,
) -> tuple[int, str] | None:
    """Why an accepted message will fail instead of being delivered, if it will."""
    if not handset.config.exists:
        return 131026, f"{handset.wa_id} is not a WhatsApp user"
    if outside_window:
        return 131047, _OUTSIDE_WINDOW
    expected = request.recipient_identity_key_hash
    if expected is not None and expected != handset.identity_key_hash:
        return 137000, "recipient_identity_key_hash does not match the user's current identity key"
    for ref, upload in media:
        if upload.kind != ref.kind:
            return 131053, (
                f"{ref.path}: media {ref.media_id} is {upload.mime_type}; {ref.kind} messages "
                f"take {', '.join(types_for(ref.kind))}"
            )
        if ref.voice and upload.mime_type != "audio/ogg":
            return 131053, (
                f"{ref.path}: a voice note must be OGG/OPUS; media {ref.media_id} is "
                f"{upload.mime_type}"
            )
    return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time()))
