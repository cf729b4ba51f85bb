"""Stored rows to the values the pure send policies (`wanode.policy`) decide on."""

from __future__ import annotations

from typing import Any

from wanode.policy import DEFAULT_OPT_IN_RULE, ContactState, OptInRule, OptInState, OptInStatus


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
