"""Stored rows to the values the pure send policies (`wanode.policy`) decide on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from wanode.policy import (
    DEFAULT_OPT_IN_RULE,
    ContactState,
    OptInRule,
    OptInState,
    OptInStatus,
    Outgoing,
    Verdict,
    check_send,
)


def contact_state(contact: dict[str, Any] | None) -> ContactState:
    """A recipient wanode has never heard from has a closed window and no recorded consent."""
    if contact is None:
        return ContactState()
    return ContactState(
        last_inbound_at=contact["last_inbound_at"],
        opt_in=OptInState(
            status=OptInStatus(contact["opt_in_status"] or OptInStatus.UNKNOWN),
            source=contact["opt_in_source"],
            opted_in_at=contact["opted_in_at"],
            opted_out_at=contact["opted_out_at"],
        ),
    )


def opt_in_rule(app: dict[str, Any]) -> OptInRule:
    """The app's categories needing an opt-in; NULL keeps the spec's default."""
    categories = app.get("opt_in_categories")
    if categories is None:
        return DEFAULT_OPT_IN_RULE
    return OptInRule(categories=frozenset(categories))


def send_verdict(
    message: Mapping[str, Any],
    contact: dict[str, Any] | None,
    app: dict[str, Any],
    *,
    now: float,
    enforce_window: bool,
) -> Verdict:
    """Expiry, the 24-hour window and opt-in for an outbox row, as `check_send` decides them.

    `message` is the outbox row (`kind`, and `template_category` and `expires_at` when set),
    `contact` the recipient's contact row (None when wanode never heard from them) and `app`
    the app's row, whose `opt_in_categories` give the opt-in rule. With `enforce_window` False
    (`WANODE_POLICY_WINDOW` off) every recipient counts as inside the window, as if they had
    written at `now`. The dispatcher decides this as it sends, a flow's WhatsApp node as it runs.
    """
    outgoing = Outgoing(
        is_template=message["kind"] == "template",
        category=message.get("template_category"),
        expires_at=message.get("expires_at"),
    )
    state = contact_state(contact)
    if not enforce_window:
        state = dataclasses.replace(state, last_inbound_at=now)
    return check_send(state, outgoing, now=now, rule=opt_in_rule(app))
