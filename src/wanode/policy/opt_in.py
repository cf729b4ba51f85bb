"""Opt-in (spec "Get Opt-In for notification messages").

The spec: opt-in is required "before opening marketing, utility, and authentication
conversations with customers outside the 24-hour window". Each app has an `OptInRule` saying
which template categories need it and whether only outside the window; the default is the
spec's. An explicit opt-out is stronger than a missing opt-in: a covered category is never sent
to an opted-out contact, even inside the window. Free-form messages are never covered, since
they can only be sent inside the window, as replies to a contact who wrote first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from wanode.codes import SYNC
from wanode.codes.webex import NOT_CONSENTED
from wanode.policy.verdict import Policy, Verdict

TEMPLATE_CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})


class OptInStatus(StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class OptInState:
    """What wanode knows of a contact's consent. `status` decides; the rest is for reasons.

    `source` says where the consent came from (a web form, a keyword, an import...);
    `opted_in_at` / `opted_out_at` are Unix seconds.
    """

    status: OptInStatus = OptInStatus.UNKNOWN
    source: str | None = None
    opted_in_at: float | None = None
    opted_out_at: float | None = None


@dataclass(frozen=True, slots=True)
class OptInRule:
    """Which template categories need an opt-in, and whether only outside the 24-hour window.

    `categories` are Meta's template categories, in any case; an empty set turns the check off
    (for apps that keep consent elsewhere).
    """

    categories: frozenset[str] = TEMPLATE_CATEGORIES
    outside_window_only: bool = True

    def __post_init__(self) -> None:
        upper = frozenset(category.upper() for category in self.categories)
        unknown = sorted(upper - TEMPLATE_CATEGORIES)
        if unknown:
            raise ValueError(
                f"opt-in categories must be among {sorted(TEMPLATE_CATEGORIES)}, not {unknown}"
            )
        object.__setattr__(self, "categories", upper)

    def covers(self, category: str | None, *, is_template: bool) -> bool:
        """Whether a message of this kind and category needs consent under this rule.

        A template whose category is unknown (or not one of Meta's) is covered whenever any
        category is: every Meta template has one of the three, so it cannot be shown exempt.
        """
        if not is_template:
            return False
        name = category.upper() if category else None
        if name in TEMPLATE_CATEGORIES:
            return name in self.categories
        return bool(self.categories)


DEFAULT_OPT_IN_RULE = OptInRule()


def opt_in(
    rule: OptInRule,
    state: OptInState,
    *,
    category: str | None,
    window_open: bool,
    is_template: bool | None = None,
) -> Verdict:
    """Refused (9002) when the rule covers the message and the contact has not opted in.

    `category` is the template's category; None means a free-form message unless
    `is_template` says it is a template whose category is unknown.
    """
    template = category is not None if is_template is None else is_template
    label = f"{category.upper()} templates" if category else "templates"
    if not template:
        return Verdict.allow(Policy.OPT_IN, "free-form messages need no opt-in")
    if not rule.covers(category, is_template=True):
        return Verdict.allow(Policy.OPT_IN, f"this app needs no opt-in for {label}")
    if state.status is OptInStatus.OPTED_OUT:
        return _refuse(
            f"the contact opted out{_when(state.opted_out_at)}{_source(state)}, "
            f"and {label} are not sent to contacts who opted out"
        )
    if window_open and rule.outside_window_only:
        return Verdict.allow(Policy.OPT_IN, "opt-in is needed only outside the 24-hour window")
    if state.status is OptInStatus.OPTED_IN:
        return Verdict.allow(
            Policy.OPT_IN, f"the contact opted in{_when(state.opted_in_at)}{_source(state)}"
        )
    where = " outside the 24-hour window" if rule.outside_window_only else ""
    return _refuse(f"no opt-in is recorded for the contact, and {label}{where} need one")


def _refuse(why: str) -> Verdict:
    return Verdict.refuse(
        Policy.OPT_IN,
        NOT_CONSENTED,
        f"destination: {why}",
        field="destination",
        sync=SYNC.NOT_CONSENTED,
    )


def _when(at: float | None) -> str:
    if at is None:
        return ""
    try:
        return f" at {datetime.fromtimestamp(at, UTC).isoformat().replace('+00:00', 'Z')}"
    except (OverflowError, OSError, ValueError):
        return f" at {at}"


def _source(state: OptInState) -> str:
    return f" (source: {state.source})" if state.source else ""
