"""The 24-hour customer service window (spec "24 hour rolling window"; cloud-api.md §5)."""

from __future__ import annotations

from wanode.codes import META_CODES
from wanode.codes.webex import RE_ENGAGEMENT
from wanode.policy.verdict import Policy, Verdict

WINDOW_SECONDS = 24 * 60 * 60


def window_open(last_inbound_at: float | None, now: float) -> bool:
    """Whether the contact wrote to the business less than 24 hours before `now`.

    The window is half-open: at exactly 24 hours it has closed, as Meta counts 24 hours *from*
    the last message. An inbound time after `now` (clocks of two machines) counts as open.
    """
    return last_inbound_at is not None and now - last_inbound_at < WINDOW_SECONDS


def window(last_inbound_at: float | None, now: float, *, is_template: bool) -> Verdict:
    """Inside the window anything may be sent; outside it only templates (else 7710 / 131047)."""
    if window_open(last_inbound_at, now):
        return Verdict.allow(Policy.WINDOW, "inside the 24-hour customer service window")
    if is_template:
        return Verdict.allow(Policy.WINDOW, "templates may be sent outside the 24-hour window")
    if last_inbound_at is None:
        since = "the contact has never written to the business"
    else:
        since = f"the contact last wrote {(now - last_inbound_at) / 3600:.1f} hours ago"
    return Verdict.refuse(
        Policy.WINDOW,
        RE_ENGAGEMENT,
        f"type: only a template can be sent outside the 24-hour customer service window ({since})",
        field="type",
        meta=META_CODES[131047],
    )
