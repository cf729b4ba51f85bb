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
    """A media id a message sends, at `path`, as a `kind` (image, audio, ...).

    Checking a body cannot tell whether the id was uploaded: the sandbox resolves it when it
    accepts the message.
    """

    path: str
    kind: str
    media_id: str


@dataclass(frozen=True)
class Content:
    """A checked message body: a readable summary for the handset's inbox, its media ids, and,
    for a template message, what it asks of the template."""

    summary: str
    media: tuple[MediaRef, ...] = ()
    template: TemplateSend | None = None


KindCheck = Callable[[Any, SandboxConfig], Content]


def lines(*parts: str | None) -> str:
    """A summary of several parts, one per line, the absent ones left out."""
    return "\n".join(part for part in parts if part)
