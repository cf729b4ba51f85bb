"""Business phone numbers provisioned on the sandbox."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class BusinessNumber:
    """A business phone number and everything the platform needs to act for it.

    `webhook_url=None` provisions a number whose webhooks are dropped (logged, not sent).
    """

    phone_number_id: str
    waba_id: str
    display_phone_number: str
    access_token: str
    app_secret: str
    webhook_url: str | None = None

    def public(self) -> dict[str, Any]:
        """The number as the sandbox shows it: never the token or the app secret."""
        return {
            "phone_number_id": self.phone_number_id,
            "waba_id": self.waba_id,
            "display_phone_number": self.display_phone_number,
            "webhook_url": self.webhook_url,
        }

    @classmethod
    def from_json(cls, obj: Any) -> BusinessNumber:
        """Parse a provisioning request; raises `ValueError` naming the first bad field."""
        if not isinstance(obj, dict):
            raise ValueError("body must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}")
        for name in known - {"webhook_url"}:
            value = obj.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} is required and must be a non-empty string")
        url = obj.get("webhook_url")
        if url is not None and not isinstance(url, str):
            raise ValueError("webhook_url must be a string or null")
        return cls(**obj)
