"""The receive log: every send the platform accepted, in order, with when and from which number.

It is the test bench's view of what reached "WhatsApp": a send answered again for a repeated
idempotency key is not in it (it is in the replays, `GET /log/replays`: what Graph, which
ignores the key, would have sent twice), a send refused (a rate limit, a bad payload) is not
either. Tests read it (`GET /log` on the control panel) to count what was sent and how fast
per number.
Only the newest `size` entries are kept, so a sandbox left running does not grow without end.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wanode.sandbox.state.handsets import InboxEntry

DEFAULT_SIZE = 1_000_000


@dataclass(frozen=True)
class Received:
    received_at: float
    phone_number_id: str
    to: str
    wamid: str
    kind: str
    text: str
    idempotency_key: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at,
            "phone_number_id": self.phone_number_id,
            "to": self.to,
            "wamid": self.wamid,
            "type": self.kind,
            "text": self.text,
            "idempotency_key": self.idempotency_key,
        }


@dataclass(frozen=True)
class Replayed:
    """A send repeating an accepted one's idempotency key, answered with its wamid."""

    replayed_at: float
    phone_number_id: str
    wamid: str
    idempotency_key: str

    def as_json(self) -> dict[str, Any]:
        return {
            "replayed_at": self.replayed_at,
            "phone_number_id": self.phone_number_id,
            "wamid": self.wamid,
            "idempotency_key": self.idempotency_key,
        }


class ReceiveLog:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._entries: deque[Received] = deque(maxlen=size)
        self._replays: deque[Replayed] = deque(maxlen=size)

    def replayed(self, at: float, phone_number_id: str, wamid: str, key: str) -> None:
        self._replays.append(Replayed(at, phone_number_id, wamid, key))

    def replays(self, phone_number_id: str | None = None) -> list[Replayed]:
        return [
            r
            for r in self._replays
            if phone_number_id is None or r.phone_number_id == phone_number_id
        ]

    def record(self, entry: InboxEntry, idempotency_key: str | None) -> None:
        self._entries.append(
            Received(
                received_at=entry.accepted_at,
                phone_number_id=entry.phone_number_id,
                to=entry.wa_id,
                wamid=entry.wamid,
                kind=entry.kind,
                text=entry.text,
                idempotency_key=idempotency_key,
            )
        )

    def entries(self, phone_number_id: str | None = None) -> list[Received]:
        return [
            e
            for e in self._entries
            if phone_number_id is None or e.phone_number_id == phone_number_id
        ]
