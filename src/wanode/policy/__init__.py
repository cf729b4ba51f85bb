"""Pure send policies: expiry, the 24-hour window, opt-in, the identity hash, numbers,
business-scoped user ids.

Each check is a function of values and the clock (`now`, Unix seconds, passed in) returning a
`Verdict`; nothing here sends, sleeps or reads the time. Malformed input (an expiry or a
number) raises `wanode.messages.InvalidMessage`, the domain's one error for a bad request value.
"""

from wanode.policy.bsuid import check_bsuid, is_bsuid
from wanode.policy.expiry import MAX_EXPIRY_SECONDS, expired, parse_expiry
from wanode.policy.identity import identity, identity_changed
from wanode.policy.numbers import normalise_number
from wanode.policy.opt_in import (
    DEFAULT_OPT_IN_RULE,
    TEMPLATE_CATEGORIES,
    OptInRule,
    OptInState,
    OptInStatus,
    opt_in,
)
from wanode.policy.send import ContactState, Outgoing, check_send
from wanode.policy.verdict import Policy, Verdict
from wanode.policy.window import WINDOW_SECONDS, window, window_open

__all__ = [
    "DEFAULT_OPT_IN_RULE",
    "MAX_EXPIRY_SECONDS",
    "TEMPLATE_CATEGORIES",
    "WINDOW_SECONDS",
    "ContactState",
    "OptInRule",
    "OptInState",
    "OptInStatus",
    "Outgoing",
    "Policy",
    "Verdict",
    "check_bsuid",
    "check_send",
    "expired",
    "identity",
    "identity_changed",
    "is_bsuid",
    "normalise_number",
    "opt_in",
    "parse_expiry",
    "window",
    "window_open",
]
