"""What the platform does for the simulated customers: their handsets' settings and identity,
and the messages they send to a business (inbound webhooks)."""

from __future__ import annotations

from typing import Any

import structlog

from wanode.sandbox.platform.messages import Messages
from wanode.sandbox.rules.errors import SandboxError
from wanode.sandbox.state.handsets import Handset, SentEntry, new_identity_key_hash
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.webhooks import inbound
from wanode.sandbox.webhooks.payloads import new_wamid

log = structlog.get_logger(__name__)

_MEDIA_KINDS = frozenset({"image", "video", "audio", "document", "sticker"})


class Customers(Messages):
    """The handsets' side of the conversations."""

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
        self._note_handset(handset)
        if came_online:
            self._resume(handset)
        return handset

    def rotate_identity(self, wa_id: str) -> str:
        """Give the handset a new identity key hash, as a reinstall or a new phone would."""
        handset = self.handsets.ensure(wa_id)
        handset.identity_key_hash = new_identity_key_hash()
        self._note_handset(handset)
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
        sent = SentEntry(
            wamid,
            number.phone_number_id,
            kind,
            summary,
            sent_at=now,
            reply_to=_replied_to(kind, body, context),
            media_id=_media_id(kind, body),
        )
        handset.sent.append(sent)
        self._note_sent(handset, sent)
        self._inbound[wamid] = (handset, sent)
        log.info(
            "sandbox.message.inbound",
            phone_number_id=number.phone_number_id,
            wamid=wamid,
            type=kind,
        )
        return wamid


def _replied_to(kind: str, body: Any, context: inbound.Context | None) -> str | None:
    """The wamid a message quotes (its `context`), or the one a reaction reacts to."""
    if context is not None:
        return context[1]
    found = body.get("message_id") if kind == "reaction" and isinstance(body, dict) else None
    return found if isinstance(found, str) else None


def _media_id(kind: str, body: Any) -> str | None:
    """The id of the media a message carries (image, video, audio, document, sticker)."""
    found = body.get("id") if kind in _MEDIA_KINDS and isinstance(body, dict) else None
    return found if isinstance(found, str) else None
