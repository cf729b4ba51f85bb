"""Simulated handsets: their settings, identity key, inbox, and the messages they sent."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wanode.sandbox.config import HandsetConfig
from wanode.sandbox.rules.entropy import ENTROPY

if TYPE_CHECKING:
    from wanode.sandbox.rules.hydration import Rendered
    from wanode.sandbox.rules.kinds import MediaRef


def new_identity_key_hash() -> str:
    """A fresh identity key hash, shaped like Meta's (short base64, e.g. "DF2lS5v2W6x=")."""
    return base64.b64encode(ENTROPY.bytes(8)).decode()


@dataclass
class InboxEntry:
    """A message a business sent to a handset, and where it is in its lifecycle.

    `status` is None until the platform has emitted the first status webhook; from then on it
    mirrors the last one emitted (sent, delivered, read, or failed). The inbox shows an entry
    from its first status on, so a message to an offline handset shows as `sent`.
    `template` is a template message as rendered for the handset; `category` its pricing
    category (marketing, utility, authentication), None for free-form messages.
    """

    wamid: str
    wa_id: str
    phone_number_id: str
    display_phone_number: str
    kind: str
    text: str
    payload: dict[str, Any]
    api_version: str
    accepted_at: float
    context_id: str | None = None
    biz_opaque_callback_data: str | None = None
    failure: tuple[int, str] | None = None
    status: str | None = None
    conversation_id: str | None = None
    template: Rendered | None = None
    category: str | None = None
    # Media links still to fetch when the first status is due; the send's idempotency key.
    links: tuple[MediaRef, ...] = ()
    idempotency_key: str | None = None

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": self.wamid,
            "from": self.display_phone_number,
            "phone_number_id": self.phone_number_id,
            "type": self.kind,
            "text": self.text,
            "payload": self.payload,
            "status": self.status,
            "timestamp": datetime.fromtimestamp(self.accepted_at, UTC).isoformat(),
        }
        if self.context_id is not None:
            entry["context"] = {"message_id": self.context_id}
        if self.template is not None:
            entry["template"] = self.template.as_json()
        if self.status == "failed" and self.failure is not None:
            entry["error"] = {"code": self.failure[0], "details": self.failure[1]}
        return entry


@dataclass
class SentEntry:
    """A message the handset sent to a business; `read` once the business marked it read.
    `reply_to` is the wamid it quotes (a reply in context, a tapped button's message),
    `media_id` the id of the media it carries (stored for the receiving number)."""

    wamid: str
    phone_number_id: str
    kind: str
    text: str
    sent_at: float
    read: bool = False
    reply_to: str | None = None
    media_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.wamid,
            "phone_number_id": self.phone_number_id,
            "type": self.kind,
            "text": self.text,
            "timestamp": datetime.fromtimestamp(self.sent_at, UTC).isoformat(),
            "read": self.read,
            "reply_to": self.reply_to,
            "media_id": self.media_id,
        }


@dataclass
class Handset:
    wa_id: str
    config: HandsetConfig
    name: str
    identity_key_hash: str = field(default_factory=new_identity_key_hash)
    inbox: list[InboxEntry] = field(default_factory=list)
    sent: list[SentEntry] = field(default_factory=list)
    # Messages that reached their delivery or read time while the handset was offline.
    waiting: list[InboxEntry] = field(default_factory=list)
    # The business numbers (phone number ids) this user blocked, and those it stopped
    # marketing messages from (`wanode.sandbox.platform.feedback`).
    blocked: list[str] = field(default_factory=list)
    marketing_stopped: list[str] = field(default_factory=list)

    def received(self) -> list[InboxEntry]:
        return [entry for entry in self.inbox if entry.status is not None]

    def last_wrote(self) -> float | None:
        """When the handset last wrote to any business, if ever."""
        return max((s.sent_at for s in self.sent), default=None)

    def last_sent_to(self, phone_number_id: str) -> float | None:
        """When the handset last wrote to the business number `phone_number_id`, if ever."""
        times = [s.sent_at for s in self.sent if s.phone_number_id == phone_number_id]
        return max(times, default=None)

    def as_json(self) -> dict[str, Any]:
        return {
            "wa_id": self.wa_id,
            "name": self.name,
            "identity_key_hash": self.identity_key_hash,
            **self.config.as_json(),
            "received": len(self.received()),
            "waiting": len(self.waiting),
            "blocked": list(self.blocked),
            "marketing_stopped": list(self.marketing_stopped),
        }


class Handsets:
    """Every handset the sandbox has met, created with the default config on first contact."""

    def __init__(self, defaults: HandsetConfig) -> None:
        self._defaults = defaults
        self._by_wa_id: dict[str, Handset] = {}

    def get(self, wa_id: str) -> Handset | None:
        return self._by_wa_id.get(wa_id)

    def all(self) -> list[Handset]:
        """Every handset, in the order the sandbox met them."""
        return list(self._by_wa_id.values())

    def count(self) -> int:
        return len(self._by_wa_id)

    def restore(self, handset: Handset) -> None:
        """Put back a handset read from the state file (`wanode.sandbox.state.journal`)."""
        self._by_wa_id[handset.wa_id] = handset

    def ensure(self, wa_id: str) -> Handset:
        handset = self._by_wa_id.get(wa_id)
        if handset is None:
            handset = Handset(wa_id=wa_id, config=self._defaults, name=f"User {wa_id[-4:]}")
            self._by_wa_id[wa_id] = handset
        return handset
