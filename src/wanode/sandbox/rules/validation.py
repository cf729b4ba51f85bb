"""Validation of requests to `POST /{version}/{phone-number-id}/messages` (cloud-api.md §1, §11.1).

A valid request parses into a `SendRequest` or a `ReadReceipt`; anything else raises `MetaError`
with the code Meta answers: 131008 for a missing value, 131009 for a bad value, 131051 for an
unknown `type`, 100 for an unknown key or a value of the wrong JSON type.

Per-kind checks live in `KINDS`, one function per message type that validates the type's body
object and returns its `Content`: a readable summary for the handset's inbox and the media it
sends. Whether those ids were uploaded, and whether a template message fits its template, is
the sandbox's to judge when it accepts the message; what a link serves, and whether a reaction's
target and emoji will do, it judges after, failing the message asynchronously
(`media_links`, `reactions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wanode.codes import SYNC
from wanode.messages import InvalidMessage, Text
from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.rules import reactions
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.fields import obj
from wanode.sandbox.rules.kinds import (
    Content,
    KindCheck,
    MediaRef,
    contacts,
    interactive,
    location,
    template,
)
from wanode.sandbox.rules.kinds import media as media_kinds
from wanode.sandbox.rules.kinds.content import ReactionSend, TemplateSend

MAX_CALLBACK_DATA = 512

_ENVELOPE = frozenset(
    {
        "messaging_product",
        "recipient_type",
        "to",
        "recipient",
        "type",
        "context",
        "biz_opaque_callback_data",
        "recipient_identity_key_hash",
    }
)
_READ_RECEIPT = frozenset({"messaging_product", "status", "message_id", "typing_indicator"})
_PHONE_CHARS = re.compile(r"[0-9+\-() ]+")
_BSUID = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]{1,128}")
# E.164 allows at most 15 digits; fewer than 7 cannot hold a country code and a subscriber.
_WA_ID_DIGITS = range(7, 16)


@dataclass(frozen=True)
class SendRequest:
    to: str
    wa_id: str
    kind: str
    summary: str
    media: tuple[MediaRef, ...]
    context_id: str | None
    biz_opaque_callback_data: str | None
    recipient_identity_key_hash: str | None
    template: TemplateSend | None = None
    reaction: ReactionSend | None = None
    # A send addressed by business-scoped user id (`recipient` instead of `to`): `wa_id` is
    # empty until the number's business resolves it (`rules.bsuid.wa_id_of`).
    recipient: str | None = None


@dataclass(frozen=True)
class ReadReceipt:
    message_id: str


def parse_request(payload: Any, config: SandboxConfig) -> SendRequest | ReadReceipt:
    if not isinstance(payload, dict):
        raise MetaError(100, "the request body must be a JSON object")
    _check_product(payload)
    if "status" in payload:
        return _parse_read_receipt(payload)
    kind = payload.get("type", "text")  # Meta defaults an omitted type to text
    if not isinstance(kind, str) or kind not in KINDS:
        raise MetaError(131051, f"type: {kind!r} is not a supported message type")
    obj(payload, "", _ENVELOPE | {kind})
    to = payload.get("to")
    # `recipient` is a BSUID (2026); with both, the phone number wins, as the providers
    # that pass both through document.
    recipient = None if to is not None else payload.get("recipient")
    if to is None and recipient is None:
        raise MetaError(
            131008,
            "to: the recipient's phone number (or `recipient`, a business-scoped user id) "
            "is required",
        )
    if recipient is not None:
        if not isinstance(recipient, str) or not _BSUID.fullmatch(recipient):
            raise MetaError(100, f"recipient: {recipient!r} is not a business-scoped user id")
        address, wa_id = recipient, ""
    else:
        wa_id = normalise_wa_id(to)
        address = str(to)
    if payload.get("recipient_type", "individual") != "individual":
        raise MetaError(131009, "recipient_type: the sandbox only delivers to individuals")
    if kind not in payload:
        raise MetaError(131008, f"{kind}: the {kind} object is required when type is {kind!r}")
    content = KINDS[kind](payload[kind], config)
    return SendRequest(
        to=address,
        wa_id=wa_id,
        kind=kind,
        summary=content.summary,
        media=content.media,
        context_id=_context_id(payload.get("context")),
        biz_opaque_callback_data=_callback_data(payload.get("biz_opaque_callback_data")),
        recipient_identity_key_hash=_optional_string(payload, "recipient_identity_key_hash"),
        template=content.template,
        reaction=content.reaction,
        recipient=recipient,
    )


def normalise_wa_id(to: Any) -> str:
    """The digits of a phone number written with `+`, spaces, dashes or parentheses.

    The digits are taken as a full international number; Meta's habit of prefixing the
    business's country code to numbers without `+` is not simulated.
    """
    if not isinstance(to, str):
        raise MetaError(100, "to: must be a string")
    digits = re.sub(r"\D", "", to)
    if not _PHONE_CHARS.fullmatch(to) or len(digits) not in _WA_ID_DIGITS:
        raise MetaError(131009, f"to: {to!r} is not a valid phone number")
    return digits


def _check_product(payload: dict[str, Any]) -> None:
    product = payload.get("messaging_product")
    if product is None:
        raise MetaError(131008, "messaging_product: is required and must be 'whatsapp'")
    if product != "whatsapp":
        raise MetaError(131009, f"messaging_product: {product!r} is not 'whatsapp'")


def _parse_read_receipt(payload: dict[str, Any]) -> ReadReceipt:
    obj(payload, "", _READ_RECEIPT)
    if payload["status"] != "read":
        raise MetaError(100, f"status: {payload['status']!r} is not 'read'")
    message_id = payload.get("message_id")
    if message_id is None:
        raise MetaError(131008, "message_id: the id of the message to mark as read is required")
    if not isinstance(message_id, str):
        raise MetaError(100, "message_id: must be a string")
    indicator = payload.get("typing_indicator")
    if indicator is not None and indicator != {"type": "text"}:
        raise MetaError(100, "typing_indicator: must be {'type': 'text'}")
    return ReadReceipt(message_id=message_id)


def _context_id(context: Any) -> str | None:
    if context is None:
        return None
    if not isinstance(context, dict):
        raise MetaError(100, "context: must be an object")
    obj(context, "context", ("message_id",))
    message_id = context.get("message_id")
    if message_id is None:
        raise MetaError(131008, "context.message_id: is required")
    if not isinstance(message_id, str):
        raise MetaError(100, "context.message_id: must be a string")
    return message_id


def _callback_data(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MetaError(100, "biz_opaque_callback_data: must be a string")
    if len(value) > MAX_CALLBACK_DATA:
        raise MetaError(
            131009,
            f"biz_opaque_callback_data: is {len(value)} characters; "
            f"at most {MAX_CALLBACK_DATA} are allowed",
        )
    return value


def _optional_string(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise MetaError(100, f"{key}: must be a string")
    return value


def _text(body: Any, config: SandboxConfig) -> Content:
    obj(body, "text", ("body", "preview_url"))
    try:
        return Content(Text.from_json(body).body)
    except InvalidMessage as exc:
        missing = exc.code in (SYNC.KEY_MISSING, SYNC.MANDATORY_MISSING)
        error = exc.under("text")
        raise MetaError(131008 if missing else 131009, f"{error.field}: {error.reason}") from exc


KINDS: dict[str, KindCheck] = {
    "text": _text,
    **{kind: media_kinds.check(kind) for kind in media_kinds.EXTRAS},
    "location": location.check,
    "contacts": contacts.check,
    "interactive": interactive.check,
    "template": template.check,
    "reaction": reactions.check,
}
