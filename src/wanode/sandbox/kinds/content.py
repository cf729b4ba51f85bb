"""What checking a message body yields: its inbox summary and the uploaded media it uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wanode.sandbox.config import SandboxConfig

if TYPE_CHECKING:
    from wanode.sandbox.kinds.template import TemplateSend


@dataclass(frozen=True)
class MediaRef:
    """The media a message sends, at `path`, as a `kind` (image, audio, ...): an uploaded
    `media_id`, or a `link` (then `media_id` is None); `voice` for a voice note.

    Checking a body cannot tell whether the id was uploaded, or what the link serves: the
    sandbox resolves an id when it accepts the message, and fetches a link after
    (`wanode.sandbox.media_links`).
    """

    path: str
    kind: str
    media_id: str | None
    link: str | None = None
    voice: bool = False


@dataclass(frozen=True)
class ReactionSend:
    """A reaction the business sends: its target message and its emoji ("" removes it)."""

    message_id: str
    emoji: str


@dataclass(frozen=True)
class Content:
    """A checked message body: a readable summary for the handset's inbox, its media, and,
    for a template message, what it asks of the template; for a reaction, its target."""

    summary: str
    media: tuple[MediaRef, ...] = ()
    template: TemplateSend | None = None
    reaction: ReactionSend | None = None


KindCheck = Callable[[Any, SandboxConfig], Content]


def lines(*parts: str | None) -> str:
    """A summary of several parts, one per line, the absent ones left out."""
    return "\n".join(part for part in parts if part)
