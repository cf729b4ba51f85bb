"""The sandbox platform: provisioned numbers, handsets, and each message's status lifecycle."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Coroutine
from typing import Any

import httpx
import structlog
from starlette.types import ASGIApp

from wanode.sandbox import inbound
from wanode.sandbox.app import build_app
from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.errors import MetaError, SandboxError
from wanode.sandbox.handsets import (
    Handset,
    Handsets,
    InboxEntry,
    SentEntry,
    new_identity_key_hash,
)
from wanode.sandbox.numbers import BusinessNumber
from wanode.sandbox.payloads import envelope, new_wamid, status
from wanode.sandbox.validation import SendRequest
from wanode.sandbox.webhooks import Webhooks

log = structlog.get_logger(__name__)

# Meta sends only `sent` for reactions, never `delivered` or `read` (cloud-api.md §4.5).
_SENT_ONLY = frozenset({"reaction"})


class Sandbox:
    """A WhatsApp Business Platform in memory. `app` is its ASGI app (see `wanode.sandbox.app`)."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.handsets = Handsets(self.config.default_handset)
        self._numbers: dict[str, BusinessNumber] = {}
        self._inbound: dict[str, tuple[Handset, SentEntry]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._webhooks = Webhooks(self.config, self._numbers.get, webhook_transport)
        self.app: ASGIApp = build_app(self)

    def provision(self, number: BusinessNumber) -> None:
        """Add `number`, or replace the credentials and webhook URL of a known one."""
        self._numbers[number.phone_number_id] = number
        log.info(
            "sandbox.number.provisioned",
            phone_number_id=number.phone_number_id,
            waba_id=number.waba_id,
        )

    def numbers(self) -> list[BusinessNumber]:
        return list(self._numbers.values())

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
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise MetaError(190, "an access token is required (Authorization: Bearer <token>)")
        if not any(_same(token, n.access_token) for n in self._numbers.values()):
            raise MetaError(190, "Invalid OAuth access token")
        number = self._numbers.get(phone_number_id)
        if number is None:
            raise MetaError(
                803,
                f"phone number id {phone_number_id!r} does not exist",
                error_type="GraphMethodException",
            )
        if not _same(token, number.access_token):
            raise MetaError(190, "the access token may not act for this phone number")
        return number

    def accept(
        self,
        number: BusinessNumber,
        api_version: str,
        request: SendRequest,
        payload: dict[str, Any],
    ) -> str:
        """Accept a valid send request; its statuses follow as webhooks. Returns the wamid."""
        if request.wa_id == "".join(filter(str.isdigit, number.display_phone_number)):
            raise MetaError(131021, "to: the recipient is the sending business number")
        handset = self.handsets.ensure(request.wa_id)
        entry = InboxEntry(
            wamid=new_wamid(request.wa_id),
            wa_id=request.wa_id,
            phone_number_id=number.phone_number_id,
            display_phone_number=number.display_phone_number,
            kind=request.kind,
            text=request.summary,
            payload=payload,
            api_version=api_version,
            accepted_at=time.time(),
            context_id=request.context_id,
            biz_opaque_callback_data=request.biz_opaque_callback_data,
            failure=_failure(handset, request),
        )
        handset.inbox.append(entry)
        self._spawn(self._lifecycle(entry, handset))
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
        handset = self.handsets.ensure(wa_id)
        if not handset.config.exists:
            raise SandboxError(409, f"{wa_id} is not a WhatsApp user and cannot send messages")
        if not handset.config.online:
            raise SandboxError(409, f"{wa_id} is offline; bring it online to send")
        context = None
        if reply_to is not None:
            if not any(
                e.wamid == reply_to and e.phone_number_id == phone_number_id
                for e in handset.received()
            ):
                raise SandboxError(400, f"reply_to: {reply_to!r} is not in this handset's inbox")
            context = (number.display_phone_number, reply_to)
        now = time.time()
        wamid = new_wamid(wa_id)
        message = inbound.text_message(handset, wamid, now=int(now), body=body, reply_to=context)
        self._post(number, {"contacts": [inbound.contact(handset)], "messages": [message]})
        sent = SentEntry(wamid, phone_number_id, "text", body, sent_at=now)
        handset.sent.append(sent)
        self._inbound[wamid] = (handset, sent)
        log.info("sandbox.message.inbound", phone_number_id=phone_number_id, wamid=wamid)
        return wamid

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

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sandbox.lifecycle.crashed", exc_info=task.exception())

    async def _lifecycle(self, entry: InboxEntry, handset: Handset) -> None:
        start = asyncio.get_running_loop().time()
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
            entry, name, now=int(time.time()), identity_key_hash=handset.identity_key_hash
        )
        self._post(self._numbers[entry.phone_number_id], {"statuses": [item]})
        log.info("sandbox.status", wamid=entry.wamid, status=name)

    def _post(self, number: BusinessNumber, value: dict[str, Any]) -> None:
        self._webhooks.post(number.phone_number_id, envelope(number, value))


def _failure(handset: Handset, request: SendRequest) -> tuple[int, str] | None:
    """Why an accepted message will fail instead of being delivered, if it will."""
    if not handset.config.exists:
        return 131026, f"{handset.wa_id} is not a WhatsApp user"
    expected = request.recipient_identity_key_hash
    if expected is not None and expected != handset.identity_key_hash:
        return 137000, "recipient_identity_key_hash does not match the user's current identity key"
    return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time()))
