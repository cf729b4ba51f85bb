"""Inbound messages: what a user sent to the business (cloud-api.md §4.4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from wanode.events._node import Node
from wanode.events.content import (
    ButtonReply,
    ListReply,
    Location,
    Media,
    Order,
    Reaction,
    SystemNotice,
    parse_button_reply,
    parse_list_reply,
    parse_location,
    parse_media,
    parse_order,
    parse_reaction,
    parse_system,
)
from wanode.events.errors import WebhookError, parse_errors


class MessageKind(StrEnum):
    """Meta's `type`, closed over what we understand: anything else is UNKNOWN (see `raw`)."""

    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    REACTION = "reaction"
    ORDER = "order"
    SYSTEM = "system"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, value: str) -> MessageKind:
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


_MEDIA_KINDS = frozenset(
    {
        MessageKind.IMAGE,
        MessageKind.AUDIO,
        MessageKind.VIDEO,
        MessageKind.DOCUMENT,
        MessageKind.STICKER,
    }
)


@dataclass(frozen=True, kw_only=True)
class InboundMessage:
    """One `messages[]` entry. Exactly the fields of its `kind` are set; the rest are None.

    `profile_name`, `identity_key_hash` and `bsuid` (the sender's business-scoped user id,
    Meta's `user_id`) come from the value's `contacts` array (absent for `system` messages).
    `from_wa_id` is empty when WhatsApp withholds the sender's number (a user who hides it
    behind a username has a `user_id` and no `wa_id`, and the message no `from`).
    `text` is the body of a text message only; captions stay on `media`.
    `button_payload`/`button_text` are a template quick-reply tap (`button`).
    """

    phone_number_id: str
    wamid: str
    from_wa_id: str
    timestamp: datetime
    kind: MessageKind
    profile_name: str | None = None
    identity_key_hash: str | None = None
    bsuid: str | None = None
    context_wamid: str | None = None
    text: str | None = None
    button_payload: str | None = None
    button_text: str | None = None
    list_reply: ListReply | None = None
    button_reply: ButtonReply | None = None
    media: Media | None = None
    location: Location | None = None
    contacts: tuple[Mapping[str, Any], ...] = ()
    reaction: Reaction | None = None
    order: Order | None = None
    system: SystemNotice | None = None
    errors: tuple[WebhookError, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class _Sender:
    wa_id: str | None
    name: str | None
    identity_key_hash: str | None
    bsuid: str | None


def parse_messages(value: Node, phone_number_id: str) -> list[InboundMessage]:
    """Every message of a `messages` change value, each matched to its sender's profile."""
    contacts = value.objects("contacts")
    senders: list[_Sender] = []
    for contact in contacts:
        profile = contact.opt_obj("profile")
        senders.append(
            _Sender(
                wa_id=contact.opt_string("wa_id"),
                name=profile.opt_string("name") if profile else None,
                identity_key_hash=contact.opt_string("identity_key_hash"),
                bsuid=user_id(contact),
            )
        )
    # A sender is found by number or, when the number is withheld, by BSUID (`from_user_id`).
    by_id = {s.bsuid: s for s in senders if s.bsuid} | {s.wa_id: s for s in senders if s.wa_id}
    # A user's wa_id and phone number may differ (§4.3): when the value names a single contact,
    # it is the sender of every message beside it, whatever `from` says.
    only = senders[0] if len(senders) == 1 else None
    messages = []
    for node in value.objects("messages"):
        message = _parse_message(node, phone_number_id)
        sender = by_id.get(message.from_wa_id or _from_user_id(node) or "", only)
        if sender is not None:
            message = replace(
                message,
                # No `from`: the contact's number, when WhatsApp gave it there.
                from_wa_id=message.from_wa_id or sender.wa_id or "",
                profile_name=sender.name,
                identity_key_hash=sender.identity_key_hash,
                bsuid=sender.bsuid,
            )
        messages.append(message)
    return messages


def _from_user_id(node: Node) -> str | None:
    value = node.data.get("from_user_id")
    return value if isinstance(value, str) and value else None


def user_id(contact: Node) -> str | None:
    """A contact's `user_id` (its BSUID), read tolerantly: the field is new and still rolling
    out, so a value of another type reads as absent rather than refusing the webhook."""
    value = contact.data.get("user_id")
    return value if isinstance(value, str) and value else None


def _parse_message(node: Node, phone_number_id: str) -> InboundMessage:
    kind = MessageKind.of(node.string("type"))
    context = node.opt_obj("context")
    interactive = node.obj("interactive") if kind is MessageKind.INTERACTIVE else None
    reply_type = interactive.opt_string("type") if interactive else None
    button = node.obj("button") if kind is MessageKind.BUTTON else None
    return InboundMessage(
        phone_number_id=phone_number_id,
        wamid=node.string("id"),
        # Absent when the sender hides their number; the contact's `user_id` names them then.
        from_wa_id=node.opt_string("from") or "",
        timestamp=node.unix_time("timestamp"),
        kind=kind,
        context_wamid=context.opt_string("id") if context else None,
        text=node.obj("text").string("body") if kind is MessageKind.TEXT else None,
        button_payload=button.opt_string("payload") if button else None,
        button_text=button.opt_string("text") if button else None,
        list_reply=(
            parse_list_reply(interactive.obj("list_reply"))
            if interactive and reply_type == "list_reply"
            else None
        ),
        button_reply=(
            parse_button_reply(interactive.obj("button_reply"))
            if interactive and reply_type == "button_reply"
            else None
        ),
        media=parse_media(node.obj(kind)) if kind in _MEDIA_KINDS else None,
        location=parse_location(node.obj("location")) if kind is MessageKind.LOCATION else None,
        contacts=(
            tuple(contact.frozen() for contact in node.objects("contacts"))
            if kind is MessageKind.CONTACTS
            else ()
        ),
        reaction=parse_reaction(node.obj("reaction")) if kind is MessageKind.REACTION else None,
        order=parse_order(node.obj("order")) if kind is MessageKind.ORDER else None,
        system=parse_system(node.obj("system")) if kind is MessageKind.SYSTEM else None,
        errors=parse_errors(node),
        raw=node.frozen(),
    )
