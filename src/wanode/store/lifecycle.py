"""The message lifecycle: statuses only move forward; failed is terminal."""

from __future__ import annotations

QUEUED = "queued"
SUBMITTED = "submitted"
SENT = "sent"
DELIVERED = "delivered"
READ = "read"
FAILED = "failed"

_RANK = {QUEUED: 0, SUBMITTED: 1, SENT: 2, DELIVERED: 3, READ: 4}


def advances(current: str, new: str) -> bool:
    """Whether moving from `current` to `new` moves the message forward."""
    if current == FAILED:
        return False
    if new == FAILED:
        return True
    return _RANK.get(new, -1) > _RANK.get(current, -1)


def superseded_by(new: str) -> list[str]:
    """The statuses a message may hold for `new` to replace them (those it moves forward from)."""
    return [status for status in _RANK if advances(status, new)]
