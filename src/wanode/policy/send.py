"""The checks the engine makes before each send, in one call."""

from __future__ import annotations

from dataclasses import dataclass, field

from wanode.policy.expiry import expired
from wanode.policy.opt_in import DEFAULT_OPT_IN_RULE, OptInRule, OptInState, opt_in
from wanode.policy.verdict import Verdict
from wanode.policy.window import window, window_open


@dataclass(frozen=True, slots=True)
class ContactState:
    """What wanode knows of the recipient: when they last wrote (Unix seconds) and their consent."""

    last_inbound_at: float | None = None
    opt_in: OptInState = field(default_factory=OptInState)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """The facts about a message the policies look at.

    `category` is the template's category (MARKETING, UTILITY, AUTHENTICATION) when known;
    `expires_at` is Unix seconds, from `parse_expiry`.
    """

    is_template: bool
    category: str | None = None
    expires_at: float | None = None


def check_send(
    contact: ContactState,
    message: Outgoing,
    *,
    now: float,
    rule: OptInRule = DEFAULT_OPT_IN_RULE,
) -> Verdict:
    """The first refusal among expiry, window and opt-in, or an allowed verdict.

    The order: an expired message is dead whatever else holds (7705); a free-form message
    outside the window cannot go whatever the consent (7710); opt-in depends on the window, so
    it comes last (9002). The identity hash is not checked here: WhatsApp decides it (see
    `wanode.policy.identity`).
    """
    verdict = expired(message.expires_at, now)
    if not verdict.allowed:
        return verdict
    verdict = window(contact.last_inbound_at, now, is_template=message.is_template)
    if not verdict.allowed:
        return verdict
    verdict = opt_in(
        rule,
        contact.opt_in,
        category=message.category,
        window_open=window_open(contact.last_inbound_at, now),
        is_template=message.is_template,
    )
    if not verdict.allowed:
        return verdict
    return Verdict.allow(None, "expiry, 24-hour window and opt-in checks passed")
