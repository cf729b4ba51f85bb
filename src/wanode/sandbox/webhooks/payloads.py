"""Webhook bodies the platform emits (cloud-api.md §4.3 envelope, §4.5 statuses) and the ids
it mints."""

from __future__ import annotations

import base64
import functools
import re
from typing import Any

import orjson

from wanode.sandbox.rules.entropy import ENTROPY
from wanode.sandbox.rules.errors import status_error
from wanode.sandbox.state.handsets import InboxEntry
from wanode.sandbox.state.numbers import BusinessNumber

CONVERSATION_TTL = 24 * 60 * 60
# From v24.0 Meta omits `conversation` outside free-entry-point windows (§4.5).
_LAST_VERSION_WITH_CONVERSATION = (23, 0)
_VERSION = re.compile(r"v(\d+)\.(\d+)")


def new_wamid(wa_id: str) -> str:
    """A unique message id shaped like Meta's: "wamid." + base64 of the recipient and a nonce."""
    raw = b"\x1c\x18" + bytes([len(wa_id)]) + wa_id.encode() + b"\x15\x02\x00\x12\x18\x14"
    return "wamid." + base64.b64encode(raw + ENTROPY.hex(10).upper().encode()).decode()


@functools.lru_cache(maxsize=256)
def parse_version(version: str) -> tuple[int, int] | None:
    match = _VERSION.fullmatch(version)
    return (int(match[1]), int(match[2])) if match else None


def envelope(number: BusinessNumber, value: dict[str, Any]) -> dict[str, Any]:
    """The `messages`-field webhook wrapping one `value` (statuses, or contacts and messages)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": number.waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": number.display_phone_number,
                                "phone_number_id": number.phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def entry_bytes(number: BusinessNumber, value: dict[str, Any]) -> bytes:
    """The JSON of `envelope(number, value)`'s one `entry` item, with orjson: the number's
    part encoded once, then `value`'s fields (a non-empty object) after it."""
    known = _ENTRY_HEADS.get(number.phone_number_id)
    if known is None or known[0] is not number:
        # The entry of an envelope around nothing, up to its metadata (the `}}]}` after it
        # closes the value, the change, the changes and the entry), and the comma the value's
        # fields need. Kept per number until the number is provisioned anew.
        head = orjson.dumps(envelope(number, {})["entry"][0])[:-4] + b","
        known = _ENTRY_HEADS[number.phone_number_id] = (number, head)
    return known[1] + orjson.dumps(value)[1:] + b"}]}"


_ENTRY_HEADS: dict[str, tuple[BusinessNumber, bytes]] = {}


def status(
    entry: InboxEntry, name: str, *, now: int, identity_key_hash: str | None
) -> dict[str, Any]:
    """One `statuses[]` item for `entry` moving to status `name` at Unix time `now`, with the
    recipient's `identity_key_hash` unless it is None (the number's identity check is off).

    `pricing` rides on `sent` and `delivered` (Meta puts it on sent and on one of
    delivered/read); `conversation` too, for API versions that still carry it, with its
    expiry on `sent` only. A `failed` status carries the failure as `errors[]`.
    """
    item: dict[str, Any] = {
        "id": entry.wamid,
        "status": name,
        "timestamp": str(now),
        "recipient_id": entry.wa_id,
    }
    if identity_key_hash is not None:
        item["recipient_identity_key_hash"] = identity_key_hash
    if entry.biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = entry.biz_opaque_callback_data
    if name in ("sent", "delivered"):
        category = _category(entry)
        if _carries_conversation(entry.api_version):
            if entry.conversation_id is None:
                entry.conversation_id = ENTROPY.hex(16)
            conversation: dict[str, Any] = {"id": entry.conversation_id}
            if name == "sent":
                conversation["expiration_timestamp"] = str(now + CONVERSATION_TTL)
            conversation["origin"] = {"type": category}
            item["conversation"] = conversation
        item["pricing"] = _pricing(category)
    if name == "failed" and entry.failure is not None:
        item["errors"] = [status_error(*entry.failure)]
    return item


def _category(entry: InboxEntry) -> str:
    # Free-form messages are service messages; a template is billed in its own category.
    return entry.category or "service"


def _pricing(category: str) -> dict[str, Any]:
    if category == "service":
        return {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": category,
        }
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}


def _carries_conversation(api_version: str) -> bool:
    version = parse_version(api_version)
    return version is not None and version <= _LAST_VERSION_WITH_CONVERSATION
