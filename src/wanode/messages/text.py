"""Text messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from wanode.messages.errors import InvalidMessage

MAX_BODY = 4096


@dataclass(frozen=True)
class Text:
    body: str
    preview_url: bool = False

    kind: ClassVar[str] = "text"

    def __post_init__(self) -> None:
        if not isinstance(self.body, str):
            raise InvalidMessage("text.body", "must be a string")
        if not self.body.strip():
            raise InvalidMessage("text.body", "must not be empty", code="7003")
        if len(self.body) > MAX_BODY:
            raise InvalidMessage(
                "text.body", f"is {len(self.body)} characters; at most {MAX_BODY} are allowed"
            )
        if not isinstance(self.preview_url, bool):
            raise InvalidMessage("text.preview_url", "must be true or false")

    def render(self) -> dict[str, Any]:
        """The Cloud API body fields for this message (without `to`)."""
        return {"type": "text", "text": {"body": self.body, "preview_url": self.preview_url}}

    @classmethod
    def from_json(cls, obj: Any) -> Text:
        """Parse the `text` object of either the Webex or the Cloud API shape."""
        if not isinstance(obj, dict):
            raise InvalidMessage("text", "must be an object")
        if "body" not in obj:
            raise InvalidMessage("text.body", "is mandatory", code="7003")
        return cls(body=obj["body"], preview_url=obj.get("preview_url", False))
