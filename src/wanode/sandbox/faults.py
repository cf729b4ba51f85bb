"""Faults injected into the sandbox's answers, to rehearse what a real network does.

`slow_answers(count, delay)`: the next `count` sends are accepted (the message reaches the
handset and its statuses follow) but answered `delay` seconds late, so a client with a shorter
timeout gives up on a request that did go through: the ambiguous timeout.

`configure(rate, kinds, seed, hang)`: each send request, with probability `rate`, meets one
fault drawn from `kinds` (weighted), from a generator seeded with `seed` (the same seed draws
the same sequence of faults). The kinds, each as Meta or its network would show it:

- `server_error`: HTTP 500, Graph error 131000 "Something went wrong"; nothing is sent.
- `unavailable`: HTTP 503, Graph error 2 "API Service" (temporary downtime or overload).
- `rate_limit`: HTTP 400, Graph error 130429 "Rate limit hit" (cloud-api.md §8).
- `timeout_before`: the request hangs `hang` seconds (longer than the client waits) without
  being accepted; nothing is delivered.
- `timeout_after`: the message is accepted (it reaches the handset, statuses follow) and
  answered `hang` seconds late: the ambiguous timeout.
- `reset_before`: the connection is reset (TCP RST) before anything is accepted.
- `reset_after`: the message is accepted, then the connection is reset instead of answered.

A reset needs the server's socket: under uvicorn it is reached through the ASGI `receive`
callable's request cycle. Where there is none (the in-process sandbox, called over an ASGI
transport), the request is answered HTTP 500 without a Graph error object instead, which a
client reads the same way: an answer that says nothing about the message.
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
import struct
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

FAULT_KINDS = (
    "server_error",
    "unavailable",
    "rate_limit",
    "timeout_before",
    "timeout_after",
    "reset_before",
    "reset_after",
)
# The kinds that come after the message is accepted: the client cannot tell it went through.
AFTER_ACCEPT = frozenset({"timeout_after", "reset_after"})
# Longer than the 10 s a client waits by default (WANODE_GATEWAY_TIMEOUT).
DEFAULT_HANG = 15.0


def parse_kinds(spec: str | Mapping[str, Any] | None) -> dict[str, float]:
    """The weighted mix of a `kinds` setting: `"server_error,reset_before:2"` (a weight after
    a colon, 1 when absent), a JSON object of weights, or empty/None for every kind alike.
    Raises `ValueError` naming the bad kind or weight."""
    if spec is None or spec == "" or spec == {}:
        return dict.fromkeys(FAULT_KINDS, 1.0)
    pairs: list[tuple[str, Any]]
    if isinstance(spec, str):
        pairs = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            name, sep, given = item.partition(":")
            pairs.append((name.strip(), given.strip() if sep else 1.0))
    elif isinstance(spec, Mapping):
        pairs = list(spec.items())
    else:
        raise ValueError("kinds must be a comma-separated list or an object of weights")
    mix: dict[str, float] = {}
    for name, raw in pairs:
        if name not in FAULT_KINDS:
            known = ", ".join(FAULT_KINDS)
            raise ValueError(f"kinds: unknown fault {name!r}; the kinds are {known}")
        try:
            weight = float(raw) if not isinstance(raw, bool) else math.nan
        except (TypeError, ValueError):
            weight = math.nan
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"kinds: the weight of {name} must be a non-negative number")
        mix[name] = weight
    if not mix or sum(mix.values()) <= 0:
        raise ValueError("kinds: at least one fault needs a positive weight")
    return mix


class Faults:
    def __init__(
        self,
        rate: float = 0.0,
        kinds: str | Mapping[str, Any] | None = None,
        seed: int | None = None,
        hang: float = DEFAULT_HANG,
    ) -> None:
        self._slow: list[float] = []
        self.injected: Counter[str] = Counter()
        self.configure(rate, kinds, seed, hang)

    def configure(
        self,
        rate: float,
        kinds: str | Mapping[str, Any] | None = None,
        seed: int | None = None,
        hang: float = DEFAULT_HANG,
    ) -> None:
        """Inject a fault into each send with probability `rate` (0 turns injection off); the
        counts of faults injected so far start again from zero."""
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise ValueError("rate must be a number between 0 and 1")
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        if isinstance(hang, bool) or not isinstance(hang, int | float):
            raise ValueError("hang must be a number of seconds")
        if not math.isfinite(hang) or hang < 0:
            raise ValueError("hang must be a finite, non-negative number of seconds")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be a whole number")
        self._mix = parse_kinds(kinds)
        self.rate = float(rate)
        self.seed = seed
        self.hang = float(hang)
        self._random = random.Random(seed)
        self._names = [name for name, weight in self._mix.items() if weight > 0]
        self._weights = [self._mix[name] for name in self._names]
        self.injected = Counter()

    def as_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "seed": self.seed,
            "hang": self.hang,
            "kinds": dict(self._mix),
            "injected": {name: self.injected[name] for name in FAULT_KINDS},
            "slow_answers": self.pending(),
        }

    def draw(self) -> str | None:
        """The fault the next send meets, if any (counted as injected)."""
        if self.rate <= 0 or self._random.random() >= self.rate:
            return None
        kind = self._random.choices(self._names, self._weights)[0]
        self.injected[kind] += 1
        return kind

    def slow_answers(self, count: int, delay: float) -> None:
        """Answer the next `count` accepted sends `delay` seconds late."""
        if count < 0 or not math.isfinite(delay) or delay < 0:
            raise ValueError("count and delay must be non-negative numbers")
        self._slow = [delay] * count

    def clear(self) -> None:
        self._slow = []
        self.rate = 0.0

    def pending(self) -> int:
        return len(self._slow)

    async def after_accept(self) -> None:
        """Wait as the next injected slow answer says (nothing when none is pending)."""
        if self._slow:
            await asyncio.sleep(self._slow.pop(0))


async def reset(receive: Callable[..., Any]) -> bool:
    """Reset the connection the request came on (TCP RST, nothing answered); False when the
    server gives no way to its socket."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger on, zero seconds: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Let the server see the connection lost before the app returns, so it writes nothing.
    for _ in range(3):
        await asyncio.sleep(0)
    return True
