"""The webhook envelope: `object` → `entry[]` → `changes[]` → one `value` per `field` (§4.3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wanode.events._node import Node
from wanode.events.errors import WebhookError, parse_errors
from wanode.events.inbound import InboundMessage, parse_messages, user_id
from wanode.events.statuses import StatusUpdate, parse_status, statuses_only
from wanode.events.templates import FIELD as TEMPLATE_STATUS_FIELD
from wanode.events.templates import TemplateStatusUpdate, parse_template_status


@dataclass(frozen=True)
class ValueErrors:
    """Errors Meta reports on a whole `messages` value rather than on one message (e.g. 130429)."""

    phone_number_id: str
    errors: tuple[WebhookError, ...]


@dataclass(frozen=True)
class OtherChange:
    """Any other `field` (account, quality, template categories, groups, …), kept for whoever
    subscribes to it; the events layer does not interpret it."""

    field: str
    value: Mapping[str, Any] = dataclasses.field(repr=False)


Event = StatusUpdate | InboundMessage | ValueErrors | TemplateStatusUpdate | OtherChange


def parse_webhook(body: object) -> list[Event]:
    """Every event of one webhook POST, in payload order.

    `body` is the decoded JSON. Raises `MalformedWebhook` if any part of it has the wrong
    shape, so the receiver can refuse the whole POST and let Meta retry it.
    """
    # Most webhooks are statuses alone: read those straight off the dicts. Anything else, or
    # anything of the wrong shape, takes the path below, which knows every kind and error.
    statuses = statuses_only(body)
    if statuses is not None:
        return list(statuses)
    return parse_any(body)


def parse_any(body: object) -> list[Event]:
    """`parse_webhook` without its shortcut for status-only webhooks (which must give what
    this gives: tests/unit/test_events_fast.py)."""
    root = Node(body, "")
    events: list[Event] = []
    for entry in root.objects("entry", required=True):
        for change in entry.objects("changes", required=True):
            events.extend(_parse_change(entry, change))
    return events


def _parse_change(entry: Node, change: Node) -> list[Event]:
    name = change.string("field")
    value = change.obj("value")
    if name == TEMPLATE_STATUS_FIELD:
        return [parse_template_status(entry, value)]
    if name != "messages":
        return [OtherChange(field=name, value=value.frozen())]
    phone_number_id = value.obj("metadata").string("phone_number_id")
    events: list[Event] = []
    events.extend(parse_messages(value, phone_number_id))
    statuses = value.objects("statuses")
    if statuses:
        # Since 2026 status values carry `contacts` too: the recipient's wa_id and BSUID.
        bsuids = {c.opt_string("wa_id"): user_id(c) for c in value.objects("contacts")}
        events.extend(parse_status(status, phone_number_id, bsuids) for status in statuses)
    errors = parse_errors(value)
    if errors:
        events.append(ValueErrors(phone_number_id=phone_number_id, errors=errors))
    return events
