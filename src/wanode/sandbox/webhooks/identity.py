"""Identity key hashes on webhooks: only when the number's identity-change check is on
(cloud-api.md §6; the setting is `wanode.sandbox.state.number_state`)."""

from __future__ import annotations

from typing import Any


def without_identity(value: dict[str, Any]) -> dict[str, Any]:
    """A webhook `value` with the identity key hashes taken out of its contacts and statuses."""
    stripped = dict(value)
    if "contacts" in value:
        stripped["contacts"] = [
            {k: v for k, v in contact.items() if k != "identity_key_hash"}
            for contact in value["contacts"]
        ]
    if "statuses" in value:
        stripped["statuses"] = [
            {k: v for k, v in item.items() if k != "recipient_identity_key_hash"}
            for item in value["statuses"]
        ]
    return stripped
