"""A handset's conversation as the simulator draws it: the sandbox's inbox (what businesses
sent the handset, with its status) and sent list (what the handset sent), merged in time order
into bubbles. Pure: no I/O, so the page and its live feed draw the same thing.

The sandbox's sent list keeps a summary of each message the handset sent (`[image] caption`),
the message it replied to (`reply_to`) and the id of the media it carried (`media_id`): a
picture the handset sent is drawn from the sandbox, like one a business sent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
# How a handset's reaction shows in its sent list (wanode.sandbox's actions).
_REACTION = re.compile(r"^\[reaction\] (.+) to (\S+)$")
_REMOVED = "(removed)"
# How a media message shows in the sent list: "[image] the caption" (or its file name).
_MEDIA_SUMMARY = re.compile(r"^\[[^\]]+\] ?")


@dataclass
class Bubble:
    """One message of the conversation. `mine`: the handset sent it (drawn on the right)."""

    id: str
    mine: bool
    kind: str
    phone_number_id: str
    timestamp: str
    status: str | None = None
    error: str | None = None
    text: str = ""
    header: str | None = None
    footer: str | None = None
    media: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)
    list_menu: dict[str, Any] | None = None
    quick_replies: list[dict[str, Any]] = field(default_factory=list)
    link_buttons: list[str] = field(default_factory=list)
    quoted: str | None = None
    quoted_id: str | None = None
    reactions: list[str] = field(default_factory=list)
    template_name: str | None = None

    @property
    def time(self) -> str:
        """HH:MM of the ISO timestamp."""
        return self.timestamp[11:16]

    @property
    def dom_id(self) -> str:
        return "m-" + hashlib.sha1(self.id.encode()).hexdigest()[:16]

    def fingerprint(self) -> str:
        """What changes when the bubble must be drawn again (a tick, a reaction, a quote)."""
        parts = (self.status, self.error, self.quoted, ",".join(self.reactions), self.text)
        return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def conversation(
    inbox: list[dict[str, Any]],
    sent: list[dict[str, Any]],
    numbers: set[str] | None = None,
) -> list[Bubble]:
    """The bubbles of a handset's conversations with `numbers` (None: every number), oldest
    first; reactions are drawn on the message they react to."""
    bubbles: list[Bubble] = []
    reactions: dict[str, dict[bool, str]] = {}
    for entry in inbox:
        if numbers is not None and entry["phone_number_id"] not in numbers:
            continue
        if entry["type"] == "reaction":
            reaction = entry["payload"].get("reaction", {})
            reactions.setdefault(reaction.get("message_id", ""), {})[False] = (
                reaction.get("emoji") or ""
            )
            continue
        bubbles.append(_received(entry))
    for entry in sent:
        if numbers is not None and entry["phone_number_id"] not in numbers:
            continue
        match = _REACTION.match(entry["text"]) if entry["type"] == "reaction" else None
        if match is not None:
            emoji = "" if match.group(1) == _REMOVED else match.group(1)
            reactions.setdefault(entry.get("reply_to") or match.group(2), {})[True] = emoji
            continue
        bubbles.append(_sent(entry))
    bubbles.sort(key=lambda bubble: bubble.timestamp)
    by_id = {bubble.id: bubble for bubble in bubbles}
    for bubble in bubbles:
        by_id_reactions = reactions.get(bubble.id, {})
        bubble.reactions = [emoji for emoji in by_id_reactions.values() if emoji]
        if bubble.quoted_id is not None:
            quoted = by_id.get(bubble.quoted_id)
            bubble.quoted = _short(quoted) if quoted is not None else "a message"
    return bubbles


def _received(entry: dict[str, Any]) -> Bubble:
    """A message a business sent the handset."""
    kind = entry["type"]
    payload = entry.get("payload") or {}
    error = entry.get("error")
    bubble = Bubble(
        id=entry["id"],
        mine=False,
        kind=kind,
        phone_number_id=entry["phone_number_id"],
        timestamp=entry["timestamp"],
        status=entry.get("status"),
        error=f"({error['code']}) {error['details']}" if isinstance(error, dict) else None,
        quoted_id=(entry.get("context") or {}).get("message_id"),
    )
    body = payload.get(kind)
    if kind == "text" and isinstance(body, dict):
        bubble.text = str(body.get("body", ""))
    elif kind in MEDIA_KINDS and isinstance(body, dict):
        bubble.media = {
            "kind": kind,
            "has_id": bool(body.get("id")),
            "link": _web_link(body.get("link")),
            "filename": body.get("filename"),
        }
        bubble.text = str(body.get("caption") or "")
    elif kind == "location" and isinstance(body, dict):
        bubble.location = body
    elif kind == "contacts" and isinstance(body, list):
        bubble.contacts = [_card(card) for card in body if isinstance(card, dict)]
    elif kind == "interactive" and isinstance(body, dict):
        _interactive(bubble, body)
    elif kind == "template" and isinstance(entry.get("template"), dict):
        _template(bubble, entry["template"])
    else:
        bubble.text = str(entry.get("text", ""))
    return bubble


def _interactive(bubble: Bubble, body: dict[str, Any]) -> None:
    header = body.get("header") or {}
    bubble.header = header.get("text") if header.get("type") == "text" else None
    bubble.text = str((body.get("body") or {}).get("text", ""))
    bubble.footer = (body.get("footer") or {}).get("text")
    action = body.get("action") or {}
    if body.get("type") == "button":
        bubble.buttons = [
            {"id": str(b["reply"]["id"]), "title": str(b["reply"]["title"])}
            for b in action.get("buttons", [])
            if isinstance(b, dict) and isinstance(b.get("reply"), dict)
        ]
    elif body.get("type") == "list":
        bubble.list_menu = {
            "button": str(action.get("button", "Choose")),
            "sections": [
                {
                    "title": section.get("title"),
                    "rows": [
                        {
                            "id": str(row.get("id", "")),
                            "title": str(row.get("title", "")),
                            "description": row.get("description"),
                        }
                        for row in section.get("rows", [])
                    ],
                }
                for section in action.get("sections", [])
            ],
        }
    elif body.get("type") == "cta_url":
        parameters = action.get("parameters") or {}
        bubble.link_buttons = [f"{parameters.get('display_text', '')} ({parameters.get('url')})"]


def _template(bubble: Bubble, rendered: dict[str, Any]) -> None:
    bubble.template_name = rendered.get("name")
    bubble.header = rendered.get("header")
    bubble.text = str(rendered.get("body") or "")
    bubble.footer = rendered.get("footer")
    for button in rendered.get("buttons", []):
        if button.get("type") == "QUICK_REPLY":
            bubble.quick_replies.append({"index": button["index"], "text": button["text"]})
        else:
            detail = button.get("url") or button.get("phone_number") or button.get("code")
            label = str(button.get("text", ""))
            bubble.link_buttons.append(f"{label} ({detail})" if detail else label)


def _sent(entry: dict[str, Any]) -> Bubble:
    """A message the handset sent, from the sandbox's summary of it."""
    kind = entry["type"]
    bubble = Bubble(
        id=entry["id"],
        mine=True,
        kind=kind,
        phone_number_id=entry["phone_number_id"],
        timestamp=entry["timestamp"],
        status="read" if entry.get("read") else "delivered",
        text=str(entry.get("text", "")),
        quoted_id=entry.get("reply_to"),
    )
    if kind in MEDIA_KINDS:
        media_id = entry.get("media_id")
        # The summary's words: the caption, else the file name, else the media id.
        words = _MEDIA_SUMMARY.sub("", bubble.text, count=1)
        words = "" if words == media_id else words
        bubble.media = {
            "kind": kind,
            "has_id": bool(media_id),
            "link": None,
            "filename": words or None,
        }
        bubble.text = "" if kind == "document" else words
    return bubble


def _card(card: dict[str, Any]) -> dict[str, Any]:
    name = card.get("name") or {}
    return {
        "name": name.get("formatted_name") or name.get("first_name") or "Contact",
        "phones": [p.get("phone") for p in card.get("phones", []) if isinstance(p, dict)],
        "emails": [e.get("email") for e in card.get("emails", []) if isinstance(e, dict)],
    }


def _web_link(value: Any) -> str | None:
    """A media link worth drawing: http(s) only (never javascript: or data:)."""
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        return value
    return None


def _short(bubble: Bubble) -> str:
    text = bubble.text or bubble.kind
    return text if len(text) <= 80 else text[:79] + "…"
