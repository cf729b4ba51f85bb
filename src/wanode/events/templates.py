"""Template status updates: Meta's review or quality checks moved a template (cloud-api.md §3.4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from wanode.events._node import Node
from wanode.events.malformed import MalformedWebhook

FIELD = "message_template_status_update"


@dataclass(frozen=True)
class TemplateStatusUpdate:
    """One `message_template_status_update` change.

    `waba_id` is the entry's id (the WABA the template belongs to). `event` is Meta's word
    (APPROVED, REJECTED, PAUSED, DISABLED, FLAGGED, REINSTATED...), kept as-is: whoever
    applies it decides what a word it does not know means. `reason` is None for Meta's
    "NONE". `other_info` is the title of a pause or unpause (FIRST_PAUSE, UNPAUSE...).
    `timestamp` is the entry's `time`, when Meta gives one.
    """

    waba_id: str
    template_id: str
    name: str
    language: str
    event: str
    category: str | None
    reason: str | None
    other_info: str | None
    timestamp: datetime | None
    raw: Mapping[str, object] = field(compare=False, repr=False)


def parse_template_status(entry: Node, value: Node) -> TemplateStatusUpdate:
    reason = value.opt_string("reason")
    other = value.opt_obj("other_info")
    return TemplateStatusUpdate(
        waba_id=entry.string("id"),
        template_id=_graph_id(value, "message_template_id"),
        name=value.string("message_template_name"),
        language=value.string("message_template_language"),
        event=value.string("event").upper(),
        category=value.opt_string("message_template_category"),
        reason=None if reason in (None, "NONE") else reason,
        other_info=other.opt_string("title") if other is not None else None,
        timestamp=entry.unix_time("time") if entry.has("time") else None,
        raw=value.frozen(),
    )


def _graph_id(node: Node, key: str) -> str:
    """A Graph id: Meta sends the template id as a JSON number here; a string is taken too."""
    value = node.data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    found = "missing" if value is None else type(value).__name__
    raise MalformedWebhook(f"{node.path}.{key}: expected a Graph id, got {found}")
