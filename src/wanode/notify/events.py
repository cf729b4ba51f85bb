"""The incoming-event JSON posted to subscriber webhooks (reference/webex-connect.md §4). Pure.

One flat object per inbound message. Receivers are written against Webex Connect, so its
names are kept exactly, and `attachments`, `location` and `contacts` are JSON-encoded strings,
not nested objects, as the reference insists. The event names:

- `MO`: anything the user typed or shared (text, media, location, contacts), plus the kinds
  the reference has no event for (reaction, order, system, unsupported, unknown), so a
  subscriber sees every message and can tell them apart by `type`;
- `postback`: a template quick-reply tap; `list`: a list row picked; `reply`: a reply button.
  `list` and `reply` events carry `type` too (the reference lists it among their variables),
  equal to the event name, as the flows' `whatsapp.type` always was.
- An attachment's `url` is where wanode serves the file: absolute, signed and expiring
  (notify/media_links.py), so a subscriber fetches it without the API key.

Conventions, for the fields the reference leaves open:

- Common fields are always present; one we cannot fill (`username` of a `system` message,
  `identityKeyHash` when WhatsApp sent none, `bsuid` when the webhook had no `user_id`) is an
  empty string, as in the DR body.
- `bsuid` is the user's business-scoped user id (Meta's `contacts[].user_id`): a destination
  of its own for replies (`destination: [{"bsuid": [...]}]`).
- `tid` is the wamid. Webex adds a `_0` suffix to its own transaction ids; ours has no
  destinations to number, and the wamid is what `/v1/inbound/{wamid}/read` takes.
- `ts` is when the user sent the message (WhatsApp's timestamp), not when it reached us, so
  the body of an event is the same however often it is built.
- `contextId` is the wamid of the business message the user replied to, reacted to, or whose
  button or list they used; it is absent when there is none, except on `list` and `reply`
  where the reference always has it.
- Fields of our own (`sticker`, `reaction`, `order`, `system`, `raw`, `errors`) are plain
  nested JSON: the reference already nests `sticker`, and only names the three string-encoded
  ones.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from wanode.events import InboundMessage, Location, Media, MessageKind
from wanode.notify.clicks import EVENT as CLICKED_EVENT
from wanode.notify.media_links import media_path

MO: Final = "MO"
POSTBACK: Final = "postback"
LIST: Final = "list"
REPLY: Final = "reply"
# `clicked` is not an inbound message: a tracked short link was followed (notify/clicks.py).
EVENT_NAMES: Final = (MO, POSTBACK, LIST, REPLY, CLICKED_EVENT)

# Kinds we have no fields for: the subscriber gets WhatsApp's own message object as `raw`, so
# nothing the user sent is lost. An `interactive` message only gets here with a reply type we
# do not know (list and button replies have their own events).
_RAW_KINDS = frozenset({MessageKind.INTERACTIVE, MessageKind.UNSUPPORTED, MessageKind.UNKNOWN})


def inbound_event(
    event: InboundMessage, *, app_id: str, media_url: Callable[[str], str] = media_path
) -> dict[str, Any]:
    """The subscriber event for `event`, received by the app `app_id`. `media_url` gives an
    attachment's `url` from its media id (the engine passes a signed absolute link)."""
    name, fields = _specific(event, media_url)
    body = {"event": name, **_common(event, app_id), **fields}
    if "contextId" not in body and (context := _context(event)):
        body["contextId"] = context
    if event.errors:
        body["errors"] = [
            {"code": e.code, "title": e.title, "message": e.message, "details": e.details}
            for e in event.errors
        ]
    return body


def _specific(event: InboundMessage, media_url: Callable[[str], str]) -> tuple[str, dict[str, Any]]:
    """The event's name and the fields of that event."""
    if event.button_reply is not None:
        return REPLY, {
            "type": REPLY,
            "replyButtonIdentifier": event.button_reply.id,
            "replyButtonTitle": event.button_reply.title,
            "contextId": event.context_wamid or "",
        }
    if event.list_reply is not None:
        return LIST, {
            "type": LIST,
            "listRowIdentifier": event.list_reply.id,
            "listRowTitle": event.list_reply.title,
            "listRowDescription": event.list_reply.description or "",
            "contextId": event.context_wamid or "",
        }
    if event.kind is MessageKind.BUTTON:
        return POSTBACK, {
            "buttonPayload": event.button_payload or "",
            "buttonText": event.button_text or "",
        }
    return MO, {
        "type": event.kind.value,
        "message": _message(event),
        **_mo_fields(event, media_url),
    }


def _common(event: InboundMessage, app_id: str) -> dict[str, Any]:
    return {
        "userId": event.from_wa_id,
        "username": event.profile_name or "",
        "channel": "WhatsApp",
        "appId": app_id,
        "waid": event.from_wa_id,
        "bsuid": event.bsuid or "",
        "ts": event.timestamp.isoformat(timespec="milliseconds"),
        "tid": event.wamid,
        "identityKeyHash": event.identity_key_hash or "",
    }


def _message(event: InboundMessage) -> str:
    """The text a flow would show as `message`: the body, a caption, an emoji, or nothing."""
    if event.text is not None:
        return event.text
    if event.media is not None:
        return event.media.caption or ""
    if event.reaction is not None:
        return event.reaction.emoji or ""
    if event.order is not None:
        return event.order.text
    if event.system is not None:
        return event.system.body
    return ""


def _mo_fields(event: InboundMessage, media_url: Callable[[str], str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if event.media is not None:
        fields["attachments"] = _encode([_attachment(event.media, media_url)])
        if event.kind is MessageKind.STICKER:
            fields["sticker"] = {
                "id": event.media.id,
                "mime_type": event.media.mime_type or "",
                "sha256": event.media.sha256 or "",
                "animated": bool(event.media.animated),
            }
    if event.location is not None:
        fields["location"] = _encode(_location(event.location))
    if event.kind is MessageKind.CONTACTS:
        fields["contacts"] = _encode([dict(card) for card in event.contacts])
    if event.reaction is not None:
        # `emoji` is empty when the user took their reaction back.
        fields["reaction"] = {
            "message_id": event.reaction.message_id,
            "emoji": event.reaction.emoji or "",
        }
    if event.order is not None:
        fields["order"] = {
            "catalog_id": event.order.catalog_id,
            "text": event.order.text,
            "product_items": [
                {
                    "product_retailer_id": item.product_retailer_id,
                    "quantity": item.quantity,
                    "item_price": item.item_price,
                    "currency": item.currency,
                }
                for item in event.order.items
            ],
        }
    if event.system is not None:
        fields["system"] = {
            "type": event.system.type,
            "body": event.system.body,
            "wa_id": event.system.new_wa_id or "",
        }
    if event.kind in _RAW_KINDS:
        fields["raw"] = copy.deepcopy(dict(event.raw))
    return fields


def _attachment(media: Media, media_url: Callable[[str], str]) -> dict[str, Any]:
    """Only the media id is known now; wanode downloads the file and serves it at `url`."""
    attachment: dict[str, Any] = {
        "mime_type": media.mime_type or "",
        "url": media_url(media.id),
        "id": media.id,
    }
    optional = {
        "caption": media.caption,
        "filename": media.filename,
        "sha256": media.sha256,
        "voice": media.voice,
    }
    attachment.update({name: value for name, value in optional.items() if value is not None})
    return attachment


def _location(location: Location) -> dict[str, Any]:
    return {
        "address": location.address or "",
        "latitude": location.latitude,
        "longitude": location.longitude,
        "name": location.name or "",
        "url": location.url or "",
    }


def _context(event: InboundMessage) -> str | None:
    if event.context_wamid is not None:
        return event.context_wamid
    return event.reaction.message_id if event.reaction is not None else None


def _encode(value: list[Mapping[str, Any]] | Mapping[str, Any]) -> str:
    # Compact and UTF-8 as-is: the receiver decodes the string again, and an emoji or an
    # accented name should read the same in a log of the raw body.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
