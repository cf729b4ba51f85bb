"""Text messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from wanode.messages._fields import flag, obj, text
from wanode.messages.envelope import Message

MAX_BODY = 4096


@dataclass(frozen=True)
class Text(Message):
    body: str
    preview_url: bool = False

    kind: ClassVar[str] = "text"

    def __post_init__(self) -> None:
        text("body", self.body, max_len=MAX_BODY)
        flag("preview_url", self.preview_url)

    def content(self) -> dict[str, Any]:
        return {"type": "text", "text": {"body": self.body, "preview_url": self.preview_url}}

    @classmethod
    def from_json(cls, value: Any) -> Text:
        """Parse the `text` object, the same in the Webex and the Cloud API shape."""
        data = obj(value, ("body", "preview_url"), required=("body",))
        return cls(body=data["body"], preview_url=data.get("preview_url", False))
