"""Meta's policy errors that follow from what users do, as pure decisions: the platform passes
in what it knows (`wanode.sandbox.platform.feedback`, `...platform.messages`).

- **131030** (synchronous): a test number sends only to the recipients on its allowed list
  (Meta's developer test numbers take up to 5). Graph answers `(#131030) Recipient phone number
  not in allowed list` with `error_subcode` 2655007 and the details below (the answer heyoo's
  users quote, github.com/Neurotech-HQ/heyoo/issues/40).
- **131026** (asynchronous): a user who blocked the business number does not get its messages
  (cloud-api.md §11: "131026 (unknown or blocked user)"); Meta does not say the user blocked it.
- **131048** (asynchronous, a `failed` status): "restrictions on how many messages can be sent
  from this phone number. This may be because too many previous messages were blocked or
  flagged as spam" (Meta's error-codes page, quoted by dualhook.com and niswey.com). Here: the
  number is restricted while `SandboxConfig.spam_limit` blocks or spam reports of it fell in
  the last `spam_window` seconds (Meta's quality rating looks back 7 days). EMULATOR CHOICE:
  Meta publishes no threshold.
- **131049** (asynchronous): Meta's per-user marketing template limit, "This message was not
  delivered to maintain healthy ecosystem engagement". Meta's cap is dynamic and unpublished;
  the documented shape is that marketing templates stop once a user who has not answered got
  a few, and that an answer (a free-form reply or a quick-reply tap) lifts it. Here:
  `SandboxConfig.marketing_limit` marketing templates (default 2) within `marketing_window`
  (24 h) since the user last wrote to any business; the next one fails.
- **131050** (asynchronous): a user who stopped marketing messages from the business number
  does not get its MARKETING templates; utility and authentication templates and free-form
  messages still arrive.
- **Template pausing** (Meta's "Template pausing" page; the pause schedule as YCloud's webhook
  guide restates it): a template whose quality falls is PAUSED for 3 hours the first time,
  6 hours the second, and DISABLED the third time; an unpause is an APPROVED status update
  (`other_info.title` UNPAUSE). Here a block or spam report counts against the last template
  the number sent that user, and `SandboxConfig.template_pause_signals` of them (default 3)
  since the template was approved or unpaused pause it. EMULATOR CHOICE: Meta's signal is its
  quality rating, computed from such feedback and read rates; its threshold is unpublished.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from wanode.sandbox.rules.errors import MetaError

# Meta's developer test numbers message at most this many recipients.
MAX_ALLOWED_RECIPIENTS = 5
NOT_ALLOWED_SUBCODE = 2655007
NOT_ALLOWED = (
    "Recipient's phone number is not whitelisted: add the recipient's phone number to a "
    "recipient list, then try again."
)
BLOCKED = (
    "Message Undeliverable: the message could not be delivered to this user (the user may "
    "not be reachable, or may have blocked this business)"
)
SPAM_RESTRICTED = (
    "Message failed to send because there are restrictions on how many messages can be sent "
    "from this phone number. This may be because too many previous messages were blocked or "
    "flagged as spam."
)
MARKETING_CAPPED = (
    "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
)
MARKETING_STOPPED = (
    "Unable to deliver the message. This recipient has chosen to stop receiving marketing "
    "messages on WhatsApp from your business."
)
# How long each pause lasts, first then second; the pause after the last one disables.
PAUSE_SCHEDULE = (3 * 60 * 60.0, 6 * 60 * 60.0)


def check_allowed(allowed: Sequence[str] | None, wa_id: str) -> None:
    """A test number (`allowed` is its list) may send only to the recipients on it (131030)."""
    if allowed is not None and wa_id not in allowed:
        raise MetaError(131030, NOT_ALLOWED, subcode=NOT_ALLOWED_SUBCODE)


def allowed_list(value: object) -> list[str] | None:
    """A test number's allowed recipients as the control panel gives them: a list of up to 5
    phone numbers (kept as digits, as `to` is), or null for a number without a list.
    Raises `ValueError` naming what is wrong."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("allowed_recipients must be a list of phone numbers, or null")
    digits = [_digits(item) for item in value]
    if any(not item for item in digits):
        raise ValueError("allowed_recipients: every entry must be a phone number")
    unique = list(dict.fromkeys(digits))
    if len(unique) > MAX_ALLOWED_RECIPIENTS:
        raise ValueError(
            f"allowed_recipients: a test number takes at most {MAX_ALLOWED_RECIPIENTS} recipients"
        )
    return unique


def recent(times: Iterable[float], *, now: float, window: float) -> int:
    """How many of `times` fell in the last `window` seconds before `now`."""
    return sum(1 for at in times if now - at < window)


def marketing_capped(
    marketing_times: Iterable[float],
    last_reply: float | None,
    *,
    now: float,
    limit: int | None,
    window: float,
) -> bool:
    """Whether a user who got marketing templates at `marketing_times` and last wrote to a
    business at `last_reply` is over the per-user marketing limit (131049)."""
    if limit is None:
        return False
    counted = (
        at
        for at in marketing_times
        if now - at < window and (last_reply is None or at >= last_reply)
    )
    return sum(1 for _ in counted) >= limit


def next_pause(pauses: int, schedule: Sequence[float] = PAUSE_SCHEDULE) -> float | None:
    """How long the next pause of a template paused `pauses` times before lasts; None when it
    is disabled instead."""
    return schedule[pauses] if pauses < len(schedule) else None


def _digits(value: str) -> str:
    return "".join(filter(str.isdigit, value))
