"""Idempotency keys: a send repeated with the same `Idempotency-Key` gets the first answer.

A client whose request timed out after it was sent cannot know whether the platform accepted
it; retrying with the same key is safe here, so the handset shows the message once. Graph
ignores the header (wanode counts such retries as possibly duplicated there).
"""

from __future__ import annotations

from collections import OrderedDict

# Keys remembered per sandbox; the oldest is forgotten past this (a retry comes within minutes).
MAX_KEYS = 100_000


class IdempotencyKeys:
    """The wamid each (business number, key) was answered with, most recent last."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self._max = max_keys
        self._wamids: OrderedDict[tuple[str, str], str] = OrderedDict()

    def answered(self, phone_number_id: str, key: str) -> str | None:
        return self._wamids.get((phone_number_id, key))

    def remember(self, phone_number_id: str, key: str, wamid: str) -> None:
        self._wamids[(phone_number_id, key)] = wamid
        while len(self._wamids) > self._max:
            self._wamids.popitem(last=False)
