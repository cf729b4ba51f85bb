"""Token buckets as GCRA (generic cell rate algorithm): pure arithmetic, time passed in.

A bucket is one number, its *theoretical arrival time* (TAT): the moment the bucket would be
full again if nothing else were taken. A bucket of rate `1 / interval` and burst `b` lets a
message through at `now` when `TAT - (b - 1) * interval <= now`; taking one moves the TAT to
`max(TAT, now) + interval`. So an idle bucket lets `b` through at once, then one per
`interval`, and a burst is paid back by that much quiet afterwards (WhatsApp's pair rule:
"bursts of up to 45 messages per 6 s are allowed but borrow from future quota").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """One message per `interval` seconds, with up to `burst` at once from a full bucket."""

    interval: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise ValueError("interval must be positive")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")

    @classmethod
    def per_second(cls, count: float, burst: int = 1) -> Rate:
        return cls(1.0 / count, burst)

    @property
    def tolerance(self) -> float:
        """How far ahead of `now` the TAT may be and still let one more through."""
        return (self.burst - 1) * self.interval


Bucket = tuple[str, Rate]


def wait_for(tat: float | None, rate: Rate, now: float) -> float:
    """Seconds until `rate`'s bucket lets one through (0: now)."""
    if tat is None:
        return 0.0
    return max(0.0, tat - rate.tolerance - now)


def take(tat: float | None, rate: Rate, now: float) -> float:
    """The TAT after taking one from a bucket that allows it."""
    return max(tat if tat is not None else now, now) + rate.interval


def take_all(
    tats: Mapping[str, float], buckets: Sequence[Bucket], now: float, reserve_within: float = 0.0
) -> tuple[float, dict[str, float]]:
    """All buckets or none: `(wait, new TATs)` when every bucket allows one within
    `reserve_within` seconds, else `(wait, {})`.

    The wait is the longest of the buckets' waits. A slot `wait` seconds ahead is taken at
    that moment (a reservation): the caller waits, then sends, and the next caller gets the
    slot after it, however late the first one's timer fires. Keys are distinct.
    """
    wait = max((wait_for(tats.get(key), rate, now) for key, rate in buckets), default=0.0)
    if wait > reserve_within:
        return wait, {}
    at = now + wait
    return wait, {key: take(tats.get(key), rate, at) for key, rate in buckets}


def line_up(
    tats: Mapping[str, float],
    buckets: Sequence[Bucket],
    now: float,
    *,
    reserve_within: float,
    line: str,
    placed: bool,
) -> tuple[float, dict[str, float]]:
    """`take_all` for sends that wait in line: the first bucket (a business number's) keeps a
    line of the sends it could not take soon, `line` the key of the moment after its last
    place.

    A send's moment is the latest of every bucket's next slot and, unless it was `placed`
    already (it comes back at the place it was given), the line's end: a new send queues
    behind the held ones instead of taking the slots they come back for. Within
    `reserve_within`, the send takes its slot in every bucket at that moment, as `take_all`;
    further off, it takes a place in the line (the first bucket's next slot or the line's
    end, whichever is later, and the line grows by one interval), unless another bucket (a
    customer's pair) keeps it back longer still: it then takes no place, and a pair's wait
    never pushes back the number's other customers. Returns `(wait, new TATs)`, the wait until
    the slot or the place.
    """
    first_key, first_rate = buckets[0]
    first = now + wait_for(tats.get(first_key), first_rate, now)
    others = max(
        (now + wait_for(tats.get(key), rate, now) for key, rate in buckets[1:]), default=now
    )
    end = max(tats.get(line, now), now)
    at = max(first, others) if placed else max(first, others, end)
    if at - now <= reserve_within:
        return at - now, {key: take(tats.get(key), rate, at) for key, rate in buckets}
    place = max(first, end)
    if others > place:
        return others - now, {}
    return place - now, {line: place + first_rate.interval}


def blocked_until(tat: float | None, rate: Rate, until: float) -> float:
    """The TAT of a bucket that must let nothing through before `until` (never loosens it)."""
    return max(tat if tat is not None else until, until + rate.tolerance)
