"""What checking a message body yields: its inbox summary and the uploaded media it uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wanode.sandbox.config import SandboxConfig


@dataclass(frozen=True)
class MediaRef:
    """The media a message sends, at `path`, as a `kind` (image, audio, ...): an uploaded
    `media_id`, or a `link` (then `media_id` is None); `voice` for a voice note.

    Checking a body cannot tell whether the id was uploaded, or what the link serves: the
    sandbox resolves an id when it accepts the message, and fetches a link after
    (`wanode.sandbox.rules.media_links`).
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
class Parameter:
    """A checked parameter: its `type`, the text it renders to, and its `parameter_name`."""

    type: str
    value: str
    path: str
    name: str | None = None


@dataclass(frozen=True)
class ButtonParameters:
    sub_type: str
    index: int
    parameters: tuple[Parameter, ...]
    path: str


@dataclass(frozen=True)
class TemplateSend:
    """What a send asks of a template; `header`/`body` are None when no component was given."""

    name: str
    language: str
    header: tuple[Parameter, ...] | None
    body: tuple[Parameter, ...] | None
    buttons: tuple[ButtonParameters, ...]


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
