"""Options every message carries besides its content, and the base class of all message kinds."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wanode.messages._fields import at, obj, optional_text

MAX_CALLBACK_DATA = 512


@dataclass(frozen=True)
class Envelope:
    """Reply-in-context, identity check and opaque callback data (Cloud API envelope fields).

    Paths in errors are the Cloud API names: `context.message_id`,
    `recipient_identity_key_hash`, `biz_opaque_callback_data`.
    """

    context_message_id: str | None = None
    identity_key_hash: str | None = None
    biz_opaque_callback_data: str | None = None

    def __post_init__(self) -> None:
        optional_text("context.message_id", self.context_message_id)
        optional_text("recipient_identity_key_hash", self.identity_key_hash)
        optional_text(
            "biz_opaque_callback_data", self.biz_opaque_callback_data, max_len=MAX_CALLBACK_DATA
        )

    def render(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self.context_message_id is not None:
            fields["context"] = {"message_id": self.context_message_id}
        if self.identity_key_hash is not None:
            fields["recipient_identity_key_hash"] = self.identity_key_hash
        if self.biz_opaque_callback_data is not None:
            fields["biz_opaque_callback_data"] = self.biz_opaque_callback_data
        return fields


def context_message_id(value: Any) -> Any:
    """The `message_id` of a JSON `context` object (the same in both request shapes)."""
    with at("context"):
        return obj(value, ("message_id",), required=("message_id",))["message_id"]


@dataclass(frozen=True)
class Message(ABC):
    """A message of one kind plus its envelope. `render()` gives the Cloud API body without `to`."""

    envelope: Envelope = field(default=Envelope(), kw_only=True)

    kind: ClassVar[str]

    def render(self) -> dict[str, Any]:
        """The Cloud API body fields for this message (without `to`)."""
        return {**self.content(), **self.envelope.render()}

    @abstractmethod
    def content(self) -> dict[str, Any]:
        """The `type` field and the object named after it."""
