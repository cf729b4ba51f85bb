"""Status updates: the lifecycle of a message the business sent (cloud-api.md §4.5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from wanode.events._node import Node, json_copy
from wanode.events.errors import WebhookError, parse_errors

SENT = "sent"
DELIVERED = "delivered"
READ = "read"
FAILED = "failed"
PLAYED = "played"


@dataclass(frozen=True)
class StatusUpdate:
    """One `statuses[]` entry.

    `status` is one of the constants above, or whatever new string Meta sends, kept as-is so
    that the status processor decides what an unknown status means, not the parser.

    `bsuid` is the recipient's business-scoped user id: the status's `recipient_user_id`, or
    the `user_id` of the value's `contacts` entry for the recipient (pywa reads it there).
    `recipient_id` is empty when WhatsApp withholds the recipient's number and names them by
    `recipient_user_id` alone.
    """

    phone_number_id: str
    wamid: str
    status: str
    timestamp: datetime
    recipient_id: str
    identity_key_hash: str | None
    biz_opaque_callback_data: str | None
    errors: tuple[WebhookError, ...]
    raw: Mapping[str, Any] = field(compare=False, repr=False)
    bsuid: str | None = None


def parse_status(
    node: Node, phone_number_id: str, bsuids: Mapping[str | None, str | None] | None = None
) -> StatusUpdate:
    """`bsuids` maps the value's `contacts` (wa_id to user_id); a single contact is the
    recipient of every status beside it."""
    recipient_id = node.opt_string("recipient_id") or ""
    bsuid = _bsuid(recipient_id, node.data.get("recipient_user_id"), bsuids)
    return StatusUpdate(
        phone_number_id=phone_number_id,
        wamid=node.string("id"),
        status=node.string("status"),
        timestamp=node.unix_time("timestamp"),
        recipient_id=recipient_id,
        identity_key_hash=node.opt_string("recipient_identity_key_hash"),
        biz_opaque_callback_data=node.opt_string("biz_opaque_callback_data"),
        errors=parse_errors(node),
        raw=node.frozen(),
        bsuid=bsuid,
    )


def _bsuid(
    recipient_id: str, own: Any, bsuids: Mapping[str | None, str | None] | None
) -> str | None:
    """The recipient's BSUID: the status's own `recipient_user_id`, else the one its value's
    `contacts` give for the recipient (a single contact is the recipient of every status)."""
    if isinstance(own, str) and own:
        return own
    if not bsuids:
        return None
    only = next(iter(bsuids.values())) if len(bsuids) == 1 else None
    return bsuids.get(recipient_id, only)


def statuses_only(body: object) -> list[StatusUpdate] | None:
    """The statuses of a webhook that carries nothing else (no messages, value errors,
    template updates or other fields) and whose every part has the expected shape, read
    straight off the decoded JSON: what `parse_webhook`'s general path reads from the same
    body, for some fifth of its CPU. None for any other body: the general path reads it, or
    says what is wrong with it."""
    if type(body) is not dict:
        return None
    entries = body.get("entry")
    if type(entries) is not list:
        return None
    found: list[StatusUpdate] = []
    for entry in entries:
        if type(entry) is not dict:
            return None
        changes = entry.get("changes")
        if type(changes) is not list:
            return None
        for change in changes:
            if type(change) is not dict or change.get("field") != "messages":
                return None
            value = change.get("value")
            if type(value) is not dict or not _only_statuses(value):
                return None
            metadata = value.get("metadata")
            if type(metadata) is not dict:
                return None
            phone_number_id = metadata.get("phone_number_id")
            if type(phone_number_id) is not str:
                return None
            bsuids = _contacts(value.get("contacts"))
            if bsuids is None:
                return None
            statuses = value.get("statuses")
            if statuses is None:
                continue
            if type(statuses) is not list:
                return None
            for status in statuses:
                update = _plain_status(status, phone_number_id, bsuids)
                if update is None:
                    return None
                found.append(update)
    return found


def _only_statuses(value: dict[str, Any]) -> bool:
    return value.get("messages") is None and value.get("errors") is None


def _contacts(contacts: object) -> dict[str | None, str | None] | None:
    """A status value's `contacts` (since 2026: each recipient's wa_id and BSUID) as wa_id to
    BSUID, when each has the shape the general path checks (the fields it reads for an inbound
    message's sender); else None."""
    if contacts is None:
        return {}
    if type(contacts) is not list:
        return None
    bsuids: dict[str | None, str | None] = {}
    for contact in contacts:
        if type(contact) is not dict:
            return None
        wa_id = contact.get("wa_id")
        profile = contact.get("profile")
        if (
            _not_string(wa_id)
            or (profile is not None and type(profile) is not dict)
            or (type(profile) is dict and _not_string(profile.get("name")))
            or _not_string(contact.get("identity_key_hash"))
        ):
            return None
        user_id = contact.get("user_id")
        bsuids[wa_id] = user_id if isinstance(user_id, str) and user_id else None
    return bsuids


def _not_string(value: object) -> bool:
    return value is not None and type(value) is not str


_OPTIONAL_STRINGS = ("recipient_id", "recipient_identity_key_hash", "biz_opaque_callback_data")


def _plain_status(
    status: object, phone_number_id: str, bsuids: dict[str | None, str | None]
) -> StatusUpdate | None:
    """One status without errors, every field of the right type; else None. `bsuids` are its
    value's contacts, as `parse_status` takes them."""
    if type(status) is not dict or status.get("errors") is not None:
        return None
    wamid = status.get("id")
    name = status.get("status")
    if type(wamid) is not str or type(name) is not str:
        return None
    for key in _OPTIONAL_STRINGS:
        if _not_string(status.get(key)):
            return None
    seconds = status.get("timestamp")
    if type(seconds) is str and seconds.isascii() and seconds.isdigit() and len(seconds) <= 12:
        seconds = int(seconds)
    elif type(seconds) is not int or not 0 <= seconds < 10**12:
        return None
    try:
        timestamp = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    recipient_id = status.get("recipient_id") or ""
    bsuid = _bsuid(recipient_id, status.get("recipient_user_id"), bsuids)
    return StatusUpdate(
        phone_number_id=phone_number_id,
        wamid=wamid,
        status=name,
        timestamp=timestamp,
        recipient_id=recipient_id,
        identity_key_hash=status.get("recipient_identity_key_hash"),
        biz_opaque_callback_data=status.get("biz_opaque_callback_data"),
        errors=(),
        raw=MappingProxyType(json_copy(status)),
        bsuid=bsuid,
    )
