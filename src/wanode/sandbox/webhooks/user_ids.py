"""Business-scoped user ids on webhooks, as Meta sends them since 2026 (cloud-api.md §4.3):
`user_id` on every contact of an inbound message, and a `contacts` array beside statuses,
with each recipient's `wa_id` and `user_id` (pywa 4.5 reads the recipient there)."""

from __future__ import annotations

from typing import Any

from wanode.sandbox.rules.bsuid import user_id


def with_user_ids(value: dict[str, Any], business: str) -> dict[str, Any]:
    """A webhook `value` with its users' BSUIDs for `business` (the number's WABA)."""
    named = dict(value)
    if "contacts" in value:
        named["contacts"] = [
            {**contact, "user_id": user_id(contact["wa_id"], business)}
            if "wa_id" in contact
            else contact
            for contact in value["contacts"]
        ]
    elif "statuses" in value:
        recipients = dict.fromkeys(item["recipient_id"] for item in value["statuses"])
        named["contacts"] = [
            {"wa_id": wa_id, "user_id": user_id(wa_id, business)} for wa_id in recipients
        ]
    return named
