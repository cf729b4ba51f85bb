"""Parsing outbound message JSON into message values, and rendering them to Cloud API payloads.

Two request shapes parse to the same values with the same errors, paths relative to the object:
- `parse_wa`: the Messaging API `channels.OTT-Messaging.wa` object (webex-connect.md §1.3);
  besides the content it takes `identity_key_hash` and `context`;
- `parse_native`: the Cloud API request body without `to` (cloud-api.md §1), with `context`,
  `recipient_identity_key_hash` and `biz_opaque_callback_data`.
Unknown keys are rejected, never dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from typing import Any

from wanode.codes import SYNC
from wanode.messages._fields import at, obj, renamed, text
from wanode.messages.contacts import Contacts
from wanode.messages.envelope import Envelope, context_message_id
from wanode.messages.errors import InvalidMessage
from wanode.messages.interactive import ListMessage, ReplyButtons
from wanode.messages.location import Location
from wanode.messages.media import (
    MEDIA_TYPES,
    NATIVE_KEYS,
    WEBEX_KEYS,
    Audio,
    Document,
    Image,
    Sticker,
    Video,
    parse_media,
)
from wanode.messages.templates import TemplateMessage
from wanode.messages.text import Text

OutboundMessage = (
    Text
    | Image
    | Audio
    | Video
    | Document
    | Sticker
    | Location
    | Contacts
    | ListMessage
    | ReplyButtons
    | TemplateMessage
)

_Parser = Callable[[Any], OutboundMessage]


def _media_parsers(keys: Mapping[str, str]) -> dict[str, _Parser]:
    def parser(kind: str) -> _Parser:
        return lambda value: parse_media(kind, value, keys)

    return {kind: parser(kind) for kind in MEDIA_TYPES}


_WA_PARSERS: dict[str, _Parser] = {
    "text": Text.from_json,
    **_media_parsers(WEBEX_KEYS),
    "location": Location.from_json,
    "contacts": Contacts.from_json,
    "list": ListMessage.from_json,
    "reply": lambda value: ReplyButtons.from_json(value, WEBEX_KEYS),
}
_NATIVE_PARSERS: dict[str, _Parser] = {
    "text": Text.from_json,
    **_media_parsers(NATIVE_KEYS),
    "location": Location.from_json,
    "contacts": Contacts.from_json,
}
_INTERACTIVE_PARSERS: dict[str, _Parser] = {
    "list": ListMessage.from_json,
    "button": lambda value: ReplyButtons.from_json(value, NATIVE_KEYS),
}


def parse_wa(wa: Any) -> OutboundMessage:
    """Parse a Messaging API `channels.OTT-Messaging.wa` object."""
    kind = _kind(wa, _WA_PARSERS)
    data = obj(wa, ("type", kind, "identity_key_hash", "context"), required=(kind,))
    with at(kind):
        message = _WA_PARSERS[kind](data[kind])
    with renamed({"recipient_identity_key_hash": "identity_key_hash"}):
        envelope = Envelope(
            context_message_id=context_message_id(data["context"]) if "context" in data else None,
            identity_key_hash=data.get("identity_key_hash"),
        )
    return _with_envelope(message, envelope)


def parse_native(body: Any) -> OutboundMessage:
    """Parse a Cloud API message request body (`to` is not part of it: it is given separately)."""
    kind = _kind(body, (*_NATIVE_PARSERS, "interactive"))
    keys = ("messaging_product", "recipient_type", "type", kind, "context")
    data = obj(body, (*keys, "recipient_identity_key_hash", "biz_opaque_callback_data"))
    for key, only in (("messaging_product", "whatsapp"), ("recipient_type", "individual")):
        if key in data and data[key] != only:
            raise InvalidMessage(key, f'must be "{only}"')
    if kind not in data:
        raise InvalidMessage(kind, "is mandatory", code=SYNC.MANDATORY_MISSING)
    with at(kind):
        message = (
            _parse_interactive(data[kind])
            if kind == "interactive"
            else _NATIVE_PARSERS[kind](data[kind])
        )
    envelope = Envelope(
        context_message_id=context_message_id(data["context"]) if "context" in data else None,
        identity_key_hash=data.get("recipient_identity_key_hash"),
        biz_opaque_callback_data=data.get("biz_opaque_callback_data"),
    )
    return _with_envelope(message, envelope)


def render_payload(
    message: OutboundMessage,
    to: str,
    *,
    context_message_id: str | None = None,
    identity_key_hash: str | None = None,
    biz_opaque_callback_data: str | None = None,
    by_bsuid: bool = False,
) -> dict[str, Any]:
    """The full Cloud API request body for sending `message` to `to`.

    Envelope options given here override the message's own (the dispatcher sets callback data).
    With `by_bsuid`, `to` is a business-scoped user id and goes in `recipient` instead, as
    Meta takes a BSUID (and as pywa sends one): `to` is then absent.
    """
    text("to", to)
    given = {
        "context_message_id": context_message_id,
        "identity_key_hash": identity_key_hash,
        "biz_opaque_callback_data": biz_opaque_callback_data,
    }
    envelope = dataclasses.replace(
        message.envelope, **{name: value for name, value in given.items() if value is not None}
    )
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        ("recipient" if by_bsuid else "to"): to,
        **message.content(),
        **envelope.render(),
    }


def _kind(value: Any, kinds: Collection[str]) -> str:
    if not isinstance(value, dict):
        raise InvalidMessage("", "must be an object")
    kind = value.get("type")
    if kind is None:
        raise InvalidMessage("type", "is mandatory", code=SYNC.MANDATORY_MISSING)
    if not isinstance(kind, str) or kind not in kinds:
        raise InvalidMessage("type", f"must be one of {', '.join(kinds)}; got {kind!r}")
    return kind


def _parse_interactive(value: Any) -> OutboundMessage:
    kind = _kind(value, _INTERACTIVE_PARSERS)
    return _INTERACTIVE_PARSERS[kind]({key: item for key, item in value.items() if key != "type"})


def _with_envelope(message: OutboundMessage, envelope: Envelope) -> OutboundMessage:
    return message if envelope == Envelope() else dataclasses.replace(message, envelope=envelope)
