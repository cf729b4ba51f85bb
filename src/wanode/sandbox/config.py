"""Configuration of the sandbox and of its simulated handsets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

_DELAYS = ("sent_delay", "delivered_delay", "read_delay")
_SWITCHES = ("reads", "online", "exists")


@dataclass(frozen=True)
class HandsetConfig:
    """How a simulated handset behaves.

    Delays are seconds counted from the moment the platform accepted the message, so the
    defaults read as a timeline: sent at 0.3 s, delivered at 1 s, read at 2 s.
    `reads=False` is a user with read receipts off; `online=False` holds `delivered`/`read`
    until the handset comes back; `exists=False` is a number that is not on WhatsApp.
    """

    sent_delay: float = 0.3
    delivered_delay: float = 1.0
    read_delay: float = 2.0
    reads: bool = True
    online: bool = True
    exists: bool = True

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> HandsetConfig:
        """A copy with `changes` applied; raises `ValueError` naming the first bad key."""
        for key, value in changes.items():
            if key in _DELAYS:
                # bool is an int subclass; `true` is not a delay.
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{key} must be a number of seconds")
                if not math.isfinite(value) or value < 0:
                    raise ValueError(f"{key} must be a finite, non-negative number of seconds")
            elif key in _SWITCHES:
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
            else:
                raise ValueError(f"unknown handset setting {key!r}")
        return replace(self, **changes)


@dataclass(frozen=True)
class SandboxConfig:
    """The sandbox's one configuration object.

    A webhook POST that fails (non-2xx, timeout, connection error) is retried up to
    `webhook_retries` more times, waiting `webhook_retry_base * 2**n` seconds before retry n.

    `list_button_max` is the longest label a list message's button may have. 24 is the spec's
    figure; set 20 to rehearse Meta's documented limit (cloud-api.md §1.2). A longer label is
    refused with 131009.

    `template_review_delay` is how many seconds a new template stays PENDING before the review
    approves or rejects it (rules in `wanode.sandbox.state.templates`). `sample_templates` gives
    every new WABA Meta's `hello_world` sample template, approved.

    `enforce_window` applies Meta's 24-hour customer-service window (cloud-api.md §5): a
    message other than a template, to a handset that has not written to the sending number
    in the last 24 hours, is accepted and then fails with 131047. Turn it off to let any
    message through, e.g. for load tests that message handsets that never wrote.

    `throughput_mps` caps each business number's messages per second (sent plus received,
    cloud-api.md §9); a send over it is refused with 130429 "Rate limit hit". The default is
    Meta's, 80 (1,000 for upgraded numbers, 20 for coexistence numbers: set those to rehearse
    them); `None` lifts it (the benchmark and the test harness do). `pair_limit`, on by
    default, applies Meta's pair rate limit: one message every 6 s from a number to the same
    user, with bursts of up to 45; a send over it is refused with 131056. Both are enforced on
    the sandbox's `clock`; see `wanode.sandbox.rules.rates`.

    What users do has Meta's consequences (see `wanode.sandbox.rules.policies`):
    `marketing_limit` marketing templates within `marketing_window` seconds to a user who has
    not written since make the next one fail with 131049 (`None`: no limit); `spam_limit`
    blocks or spam reports of a number within `spam_window` seconds restrict it, its messages
    failing with 131048 (`None`: never); `template_pause_signals` of them after one template
    pause it (3 h, then 6 h, then DISABLED; `None`: never).

    `webhook_batch` lets one webhook POST carry up to that many updates (one `entry` each)
    when they are waiting for the same number, as Meta may batch up to 1,000; the default, 1,
    posts each alone. Batching only merges what is already queued: nothing waits for a batch.

    `status_tick` is the grid status timers fire on, in seconds: a status is emitted at the
    first tick at or after it is due, never early and at most a tick late, so statuses due
    within a tick of each other are emitted together (and, with `webhook_batch`, posted
    together). 0 emits each exactly when due.

    `fault_rate`, `fault_kinds`, `fault_seed` and `fault_hang` inject faults into sends from
    the start (see `wanode.sandbox.faults`); `PUT /faults` changes them at run time.

    `identity_check` turns Meta's identity-change check on for every number from the start:
    webhooks then carry the users' identity key hashes. Off, as at Meta, they carry none until
    `POST /{phone-number-id}/settings` turns it on (see `wanode.sandbox.state.number_state`).

    `fetch_media` fetches each media link of an accepted message, as Meta does, and fails the
    message with 131053 when the file cannot be had or is not what the message says; links
    must point at this machine (loopback), and one fetch may take `media_fetch_timeout`
    seconds (see `wanode.sandbox.rules.media_links`). Off, links are taken on trust.

    `state_file` is a SQLite file the sandbox keeps its state in, so a restart loses nothing
    (numbers, templates, handsets, windows, inboxes, media, pending statuses); `state_flush`
    is how often, in seconds, changes are written to it (see `wanode.sandbox.state.journal`).
    None keeps the state in memory only.
    """

    default_handset: HandsetConfig = field(default_factory=HandsetConfig)
    webhook_timeout: float = 10.0
    webhook_retries: int = 5
    webhook_retry_base: float = 0.5
    list_button_max: int = 24
    template_review_delay: float = 1.0
    sample_templates: bool = True
    enforce_window: bool = True
    throughput_mps: float | None = 80.0
    pair_limit: bool = True
    marketing_limit: int | None = 2
    marketing_window: float = 24 * 60 * 60.0
    spam_limit: int | None = 5
    spam_window: float = 7 * 24 * 60 * 60.0
    template_pause_signals: int | None = 3
    webhook_batch: int = 1
    status_tick: float = 0.01
    fault_rate: float = 0.0
    fault_kinds: str = ""
    fault_seed: int | None = None
    fault_hang: float = 15.0
    identity_check: bool = False
    fetch_media: bool = True
    media_fetch_timeout: float = 10.0
    state_file: str | None = None
    state_flush: float = 0.5

    def __post_init__(self) -> None:
        tick = self.status_tick
        if isinstance(tick, bool) or not math.isfinite(tick) or tick < 0:
            raise ValueError("status_tick must be a finite, non-negative number of seconds")
        mps = self.throughput_mps
        if mps is not None and (isinstance(mps, bool) or not math.isfinite(mps) or mps <= 0):
            raise ValueError("throughput_mps must be a positive number of messages per second")
        for name in ("marketing_limit", "spam_limit", "template_pause_signals"):
            count = getattr(self, name)
            if count is not None and (isinstance(count, bool) or count < 1):
                raise ValueError(f"{name} must be a whole number of at least 1, or None")
