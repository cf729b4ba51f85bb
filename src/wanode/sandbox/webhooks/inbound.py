"""Builders for what a handset sends to a business: `contacts[]` and `messages[]` items of an
inbound webhook (cloud-api.md §4.3, §4.4). `message` wraps the object named after the type;
the other builders make that object, one per kind."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from wanode.sandbox.rules.media import animated_webp
from wanode.sandbox.state.handsets import Handset
from wanode.sandbox.state.media import StoredMedia

Context = tuple[str, str]
"""(business display number, wamid of the business message): a reply's `context`."""


def contact(handset: Handset) -> dict[str, Any]:
    return {
        "profile": {"name": handset.name},
        "wa_id": handset.wa_id,
        "identity_key_hash": handset.identity_key_hash,
    }


def message(
    handset: Handset,
    wamid: str,
    *,
    now: int,
    kind: str,
    body: Any,
    context: Context | None = None,
) -> dict[str, Any]:
    """A `messages[]` item of type `kind` whose `kind` object is `body`."""
    item: dict[str, Any] = {
        "from": handset.wa_id,
        "id": wamid,
        "timestamp": str(now),
        "type": kind,
        kind: body,
    }
    if context is not None:
        item["context"] = {"from": context[0], "id": context[1]}
    return item


def text_message(
    handset: Handset,
    wamid: str,
    *,
    now: int,
    body: str,
    reply_to: Context | None = None,
) -> dict[str, Any]:
    """A text message; `reply_to` is (business display number, wamid) for a quoted reply."""
    return message(handset, wamid, now=now, kind="text", body={"body": body}, context=reply_to)


def media(
    upload: StoredMedia,
    *,
    caption: str | None = None,
    voice: bool = False,
) -> dict[str, Any]:
    """The object of an image, audio, video, document or sticker message.

    `sha256` is base64 here, as in Meta's webhooks; `GET /{media-id}` gives the same digest in
    hex. Audio always says whether it is a voice note, a sticker whether it is animated, and a
    document carries its filename: Meta's document marks each required.
    """
    body: dict[str, Any] = {
        "id": upload.media_id,
        "mime_type": upload.mime_type,
        "sha256": base64.b64encode(hashlib.sha256(upload.data).digest()).decode(),
    }
    if caption is not None:
        body["caption"] = caption
    if upload.kind == "document":
        body["filename"] = upload.filename
    elif upload.kind == "audio":
        body["voice"] = voice
    elif upload.kind == "sticker":
        body["animated"] = animated_webp(upload.data)
    return body


def button_reply(button_id: str, title: str) -> dict[str, Any]:
    return {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}


def list_reply(row_id: str, title: str, description: str | None) -> dict[str, Any]:
    reply = {"id": row_id, "title": title}
    if description is not None:
        reply["description"] = description
    return {"type": "list_reply", "list_reply": reply}


def reaction(message_id: str, emoji: str | None) -> dict[str, Any]:
    """A reaction; a removed one omits `emoji` (§4.4)."""
    return (
        {"message_id": message_id} if emoji is None else {"message_id": message_id, "emoji": emoji}
    )
