"""What a simulated customer does on their handset, as the control panel asks (cloud-api.md §4.4,
§10): send media, a location or contact cards, react, tap a reply button, pick a list row, tap
a template quick reply, open a wa.me link. Each becomes the inbound webhook Meta would send.

Every action body is a JSON object; a bad one answers 400 naming the field, an unknown number
404, a handset that cannot send (not on WhatsApp, offline) 409. Actions on a message (react,
tap, pick) find it in the handset's conversation and reply to the number it came from; an
optional `phone_number_id` must then name that number.

Decisions (EMULATOR CHOICE):

- Media the handset sends is stored like an upload of the receiving number, so the business
  fetches it with `GET /{media-id}` and its download URL, as Meta's webhooks have it. It is
  given as base64 `data` with its `mime_type` (and optionally its `filename`), or as a `sample`
  name (`wanode.sandbox.samples`), and must be a type and size Meta accepts (cloud-api.md §7).
  Only a document's webhook carries its file name (by default the sample's, or "document.pdf").
- A template quick-reply tap carries the payload the business sent for that button, else the
  button's label (cloud-api.md §4.4).
- Opening `https://wa.me/message/<code>` sends the code's prefilled message at once, as if the
  user tapped send; `https://wa.me/<number>?text=...` and
  `https://api.whatsapp.com/send?phone=<number>&text=...` do the same for a provisioned
  number's display number. A link without text opens the chat and sends nothing.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from wanode.sandbox.rules import reactions
from wanode.sandbox.rules.errors import MetaError, SandboxError
from wanode.sandbox.rules.kinds import contacts, location
from wanode.sandbox.rules.media import KIND_OF_TYPE, essence
from wanode.sandbox.samples import SAMPLES, sample
from wanode.sandbox.state.handsets import Handset, InboxEntry
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.webhooks import inbound

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
MAX_CAPTION = 1024
_CAPTIONED = ("image", "video", "document")
_WA_ME = ("wa.me", "www.wa.me")
_API_SEND = ("api.whatsapp.com",)
_SHORT_LINK = "/message/"

Answer = tuple[dict[str, Any], int]


class Actions:
    def __init__(self, sandbox: Platform) -> None:
        self.sandbox = sandbox

    def send_media(self, wa_id: str, body: dict[str, Any]) -> Answer:
        """`{phone_number_id, sample | data + mime_type, kind?, caption?, filename?, voice?,
        reply_to?}`."""
        _keys(
            body,
            "phone_number_id",
            "sample",
            "data",
            "mime_type",
            "kind",
            "caption",
            "filename",
            "voice",
            "reply_to",
        )
        number, handset, context = self._opening(wa_id, body)
        data, mime_type, filename = _media_bytes(body)
        kind = KIND_OF_TYPE.get(mime_type)
        if kind is None:
            raise SandboxError(
                400, f"mime_type: {mime_type!r} is not a type WhatsApp carries (cloud-api.md §7)"
            )
        asked = _optional_text(body, "kind")
        if asked is not None and asked != kind:
            raise SandboxError(400, f"kind: {mime_type} media is sent as {kind}, not {asked}")
        caption = _optional_text(body, "caption")
        if caption is not None and (kind not in _CAPTIONED or len(caption) > MAX_CAPTION):
            raise SandboxError(
                400,
                f"caption: only images, videos and documents have one, of at most {MAX_CAPTION} "
                "characters",
            )
        voice = body.get("voice", False)
        if not isinstance(voice, bool) or (voice and kind != "audio"):
            raise SandboxError(400, "voice: true or false, and only audio can be a voice note")
        filename = _optional_text(body, "filename") or filename
        if kind == "document" and not filename:
            filename = "document" + (mimetypes.guess_extension(mime_type) or "")
        try:
            upload = self.sandbox.media.add(number.phone_number_id, data, mime_type, filename)
        except MetaError as exc:
            raise SandboxError(400, exc.details) from exc
        summary = f"[{'voice note' if voice else kind}] {caption or filename or upload.media_id}"
        media = inbound.media(upload, caption=caption, voice=voice)
        return self._sent(handset, number, kind, summary, media, context)

    def send_location(self, wa_id: str, body: dict[str, Any]) -> Answer:
        """`{phone_number_id, latitude, longitude, name?, address?, url?, reply_to?}`."""
        number, handset, context = self._opening(wa_id, body)
        place = {k: v for k, v in body.items() if k not in ("phone_number_id", "reply_to")}
        try:
            found = location.place(place, "location", extras=("url",))
        except MetaError as exc:
            raise SandboxError(400, exc.details) from exc
        shared = {
            **found,
            "latitude": float(found["latitude"]),
            "longitude": float(found["longitude"]),
        }
        return self._sent(handset, number, "location", location.describe(shared), shared, context)

    def send_contacts(self, wa_id: str, body: dict[str, Any]) -> Answer:
        """`{phone_number_id, contacts: [card...], reply_to?}`: cards shaped as on send (§1.2)."""
        _keys(body, "phone_number_id", "contacts", "reply_to")
        number, handset, context = self._opening(wa_id, body)
        if "contacts" not in body:
            raise SandboxError(400, "contacts: an array of contact cards is required")
        try:
            content = contacts.check(body["contacts"], self.sandbox.config)
        except MetaError as exc:
            raise SandboxError(400, exc.details) from exc
        return self._sent(handset, number, "contacts", content.summary, body["contacts"], context)

    def react(self, wa_id: str, body: dict[str, Any]) -> Answer:
        """`{message_id, emoji?}`: react to a message of the conversation; no emoji removes
        the handset's reaction."""
        _keys(body, "message_id", "emoji", "phone_number_id")
        handset = self.sandbox.ready(wa_id)
        message_id = _text(body, "message_id")
        emoji = _optional_text(body, "emoji") or None
        if emoji is not None and not reactions.is_emoji(emoji):
            raise SandboxError(400, f"emoji: {emoji!r} is not one emoji")
        number = self._number_of_message(handset, message_id, body)
        summary = f"[reaction] {emoji or '(removed)'} to {message_id}"
        return self._sent(handset, number, "reaction", summary, inbound.reaction(message_id, emoji))

    def tap_button(self, wa_id: str, body: dict[str, Any]) -> Answer:
        """`{message_id, id}`: tap a reply button of an interactive button message."""
        _keys(body, "message_id", "id", "phone_number_id")
        handset, entry, number = self._received(wa_id, body)
        interactive = entry.payload.get("interactive", {}) if entry.kind == "interactive" else {}
        if interactive.get("type") != "button":
            raise SandboxError(
                400, f"message_id: {entry.wamid} has no reply buttons ({_what(entry)})"
            )
        button_id = _text(body, "id")
        replies = [button["reply"] for button in interactive["action"]["buttons"]]
        reply = next((r for r in replies if r["id"] == button_id), None)
        if reply is None:
            known = ", ".join(repr(r["id"]) for r in replies)
            raise SandboxError(400, f"id: the message has no button {button_id!r}; it has {known}")
        reply_body = inbound.button_reply(reply["id"], reply["title"])
        summary = f"[button] {reply['title']}"
        return self._sent(handset, number, "interactive", summary, reply_body, _context(entry))

    def pick_row(self, wa_id: str, body: dict[str, Any]) -> Answer:
        """`{message_id, id}`: pick a row of a list message."""
        _keys(body, "message_id", "id", "phone_number_id")
        handset, entry, number = self._received(wa_id, body)
        interactive = entry.payload.get("interactive", {}) if entry.kind == "interactive" else {}
        if interactive.get("type") != "list":
            raise SandboxError(
                400, f"message_id: {entry.wamid} is not a list message ({_what(entry)})"
            )
        row_id = _text(body, "id")
        rows = [row for section in interactive["action"]["sections"] for row in section["rows"]]
        row = next((r for r in rows if r["id"] == row_id), None)
        if row is None:
            known = ", ".join(repr(r["id"]) for r in rows)
            raise SandboxError(400, f"id: the list has no row {row_id!r}; it has {known}")
        reply = inbound.list_reply(row["id"], row["title"], row.get("description"))
        return self._sent(
            handset, number, "interactive", f"[list] {row['title']}", reply, _context(entry)
        )

    def tap_quick_reply(self, wa_id: str, body: dict[str, Any]) -> Answer:
        """`{message_id, index | text}`: tap a template's quick-reply button, by its position
        among the template's buttons or by its label."""
        _keys(body, "message_id", "index", "text", "phone_number_id")
        handset, entry, number = self._received(wa_id, body)
        if entry.template is None:
            raise SandboxError(
                400, f"message_id: {entry.wamid} is not a template message ({_what(entry)})"
            )
        quick = [b for b in entry.template.buttons if b.type == "QUICK_REPLY"]
        index, label = body.get("index"), body.get("text")
        if (index is None) == (label is None):
            raise SandboxError(400, "give the button's index or its text, one of the two")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int):
                raise SandboxError(400, "index: must be a button position (0, 1, ...)")
            chosen = next((b for b in quick if b.index == index), None)
        else:
            chosen = next((b for b in quick if b.text == label), None)
        if chosen is None:
            known = ", ".join(f"{b.index}: {b.text!r}" for b in quick) or "none"
            raise SandboxError(
                400, f"the template has no such quick-reply button; its quick replies: {known}"
            )
        button = {"payload": chosen.payload or chosen.text, "text": chosen.text}
        summary = f"[button] {chosen.text}"
        return self._sent(handset, number, "button", summary, button, _context(entry))

    def open_link(self, wa_id: str, body: dict[str, Any]) -> Answer:
        """`{url}`: open a wa.me link (or its api.whatsapp.com form), sending its text."""
        _keys(body, "url")
        url = _text(body, "url")
        number, text = self._link(url)
        handset = self.sandbox.ready(wa_id)
        if not text:
            return {"phone_number_id": number.phone_number_id, "id": None}, 200
        wamid = self.sandbox.receive(handset, number, "text", text, {"body": text})
        return {"phone_number_id": number.phone_number_id, "id": wamid, "text": text}, 201

    def _link(self, url: str) -> tuple[BusinessNumber, str | None]:
        """The number a click-to-chat link opens, and the text it prefills (cloud-api.md §10)."""
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise SandboxError(400, f"url: {url!r} is not a URL") from exc
        query = parse_qs(parts.query)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or host not in (*_WA_ME, *_API_SEND):
            raise SandboxError(400, f"url: {url!r} is not a wa.me or api.whatsapp.com link")
        if host in _WA_ME and parts.path.startswith(_SHORT_LINK):
            code = parts.path.removeprefix(_SHORT_LINK).strip("/")
            qr = self.sandbox.qrdls.get(code)
            if qr is None:
                raise SandboxError(404, f"url: the link {url} does not work (no such code)")
            return self.sandbox.number(qr.phone_number_id), qr.prefilled_message
        if host in _WA_ME:
            digits = parts.path.strip("/")
        elif parts.path.rstrip("/") == "/send":
            digits = query.get("phone", [""])[0]
        else:
            raise SandboxError(400, f"url: {url!r} is not a click-to-chat link")
        if not digits.isdigit():
            raise SandboxError(
                400, f"url: {digits!r} is not a number written as digits only (country code first)"
            )
        number = self.sandbox.number_of_display(digits)
        if number is None:
            raise SandboxError(404, f"url: {digits} is not a provisioned business number")
        return number, query.get("text", [None])[0]

    def _opening(
        self, wa_id: str, body: dict[str, Any]
    ) -> tuple[BusinessNumber, Handset, inbound.Context | None]:
        """For a message the handset starts: the number, the handset, the quoted reply."""
        number = self.sandbox.number(_text(body, "phone_number_id"))
        handset = self.sandbox.ready(wa_id)
        reply_to = _optional_text(body, "reply_to")
        return number, handset, self.sandbox.reply_context(handset, number, reply_to)

    def _received(
        self, wa_id: str, body: dict[str, Any]
    ) -> tuple[Handset, InboxEntry, BusinessNumber]:
        """A message the handset received, that it now acts on, and the number it came from."""
        handset = self.sandbox.ready(wa_id)
        message_id = _text(body, "message_id")
        entry = next((e for e in handset.inbox if e.wamid == message_id), None)
        if entry is None:
            raise SandboxError(400, f"message_id: {message_id!r} is not in this handset's inbox")
        if entry.status is None:
            raise SandboxError(400, f"message_id: {message_id} has not reached the handset yet")
        if entry.status == "failed":
            raise SandboxError(400, f"message_id: {message_id} was not delivered to the handset")
        return handset, entry, self._sender(entry.phone_number_id, body)

    def _number_of_message(
        self, handset: Handset, message_id: str, body: dict[str, Any]
    ) -> BusinessNumber:
        """The number a message of the conversation (received or sent) belongs to."""
        for entry in handset.received():
            if entry.wamid == message_id:
                return self._sender(entry.phone_number_id, body)
        for sent in handset.sent:
            if sent.wamid == message_id:
                return self._sender(sent.phone_number_id, body)
        raise SandboxError(
            400, f"message_id: {message_id!r} is not in this handset's conversations"
        )

    def _sender(self, phone_number_id: str, body: dict[str, Any]) -> BusinessNumber:
        given = body.get("phone_number_id")
        if given is not None and given != phone_number_id:
            raise SandboxError(
                400,
                f"phone_number_id: the message belongs to the conversation with "
                f"{phone_number_id}, not {given}",
            )
        return self.sandbox.number(phone_number_id)

    def _sent(
        self,
        handset: Handset,
        number: BusinessNumber,
        kind: str,
        summary: str,
        message: Any,
        context: inbound.Context | None = None,
    ) -> Answer:
        wamid = self.sandbox.receive(handset, number, kind, summary, message, context)
        return {"id": wamid}, 201


def _media_bytes(body: dict[str, Any]) -> tuple[bytes, str, str]:
    """The bytes, MIME type and file name of the media a handset sends."""
    name, data = _optional_text(body, "sample"), body.get("data")
    if (name is None) == (data is None):
        raise SandboxError(400, "give either sample (a sample's name) or data (base64), not both")
    if name is not None:
        found = sample(name)
        if found is None:
            raise SandboxError(400, f"sample: no sample {name!r}; there are {', '.join(SAMPLES)}")
        if "mime_type" in body:
            raise SandboxError(400, "mime_type: a sample has its own type")
        return found[1], essence(found[0]), name
    if not isinstance(data, str):
        raise SandboxError(400, "data: must be the file's bytes in base64")
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise SandboxError(400, "data: is not valid base64") from exc
    return raw, essence(_text(body, "mime_type")), ""


def _context(entry: InboxEntry) -> inbound.Context:
    return entry.display_phone_number, entry.wamid


def _what(entry: InboxEntry) -> str:
    if entry.kind == "interactive":
        return f"an interactive {entry.payload['interactive']['type']} message"
    return f"a {entry.kind} message"


def _keys(body: dict[str, Any], *allowed: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise SandboxError(
            400, f"unknown field {unknown[0]!r}; this action takes {', '.join(allowed)}"
        )


def _text(body: dict[str, Any], key: str) -> str:
    value = _optional_text(body, key)
    if not value:
        raise SandboxError(400, f"{key} is required")
    return value


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise SandboxError(400, f"{key} must be a string")
    return value
