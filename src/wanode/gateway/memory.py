"""A recording fake gateway for unit tests: accepts everything unless told otherwise."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from wanode.gateway.base import Accepted, Credentials, GatewayError, Rejected, SendResult


@dataclass
class Sent:
    creds: Credentials
    payload: dict[str, Any]
    result: SendResult


@dataclass
class MemoryGateway:
    """Records every send. Queue `Rejected` or `GatewayError` values in `script` to fail sends."""

    sent: list[Sent] = field(default_factory=list)
    script: deque[Rejected | GatewayError] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, creds: Credentials, payload: dict[str, Any]) -> SendResult:
        if self.script:
            outcome = self.script.popleft()
            if isinstance(outcome, GatewayError):
                raise outcome
            self.sent.append(Sent(creds, payload, outcome))
            return outcome
        to = "".join(ch for ch in str(payload.get("to", "")) if ch.isdigit())
        accepted = Accepted(wamid=f"wamid.MEMORY{next(self._ids):012d}", wa_id=to)
        self.sent.append(Sent(creds, payload, accepted))
        return accepted

    async def aclose(self) -> None:
        return None
