"""What Graph keeps about a business phone number besides its credentials: the business
profile, the identity-change check setting, the users it blocked and its registration.

The identity-change check is off by default, as at Meta (cloud-api.md §6): webhooks then carry
no `contacts[].identity_key_hash` nor `statuses[].recipient_identity_key_hash`
(`wanode.sandbox.webhooks.identity`). `POST /{phone-number-id}/settings` turns it on or off;
`SandboxConfig.identity_check` sets it for every number provisioned from the start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERIFIED_NAME = "wanode sandbox"


@dataclass
class NumberState:
    identity_check: bool = False
    profile: dict[str, Any] = field(default_factory=lambda: {"vertical": "OTHER"})
    # wa_id -> what the business sent to block it (a number as typed), in blocking order.
    blocked: dict[str, str] = field(default_factory=dict)
    registered: bool = True
    pin: str | None = None
    verified_name: str = VERIFIED_NAME
    # A test number's allowed recipients (wa_ids); None for a number without a list (131030).
    allowed_recipients: list[str] | None = None
    # Blocks and spam reports of the number, oldest first: {"at", "wa_id", "kind" (block or
    # spam), "template_id" (the last template it sent that user, or None)}; see
    # `wanode.sandbox.platform.feedback`.
    feedback: list[dict[str, Any]] = field(default_factory=list)


class NumberStates:
    """Each business number's state, made on first use with the configured defaults."""

    def __init__(self, identity_check: bool) -> None:
        self._identity_check = identity_check
        self._by_id: dict[str, NumberState] = {}

    def items(self) -> list[tuple[str, NumberState]]:
        return list(self._by_id.items())

    def restore(self, phone_number_id: str, state: NumberState) -> None:
        self._by_id[phone_number_id] = state

    def of(self, phone_number_id: str) -> NumberState:
        state = self._by_id.get(phone_number_id)
        if state is None:
            state = self._by_id[phone_number_id] = NumberState(self._identity_check)
        return state
