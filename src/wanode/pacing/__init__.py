"""Pacing: token buckets that keep sends under WhatsApp's throughput and pair limits.

Two buckets guard every send (reference/cloud-api.md §9):

- per business number: `rate` messages a second with a small burst (the dispatcher uses 2),
  so a 1-second window holds at most `rate + burst - 1` sends;
- per (business number, customer) pair: one per `interval` seconds with a burst of `burst`,
  as GCRA: an idle pair takes `burst` at once, then one per `interval`, and a burst of `n`
  needs `n * interval` of quiet to be whole again ("a burst of 20 needs ~2 minutes").

Keys carry the number in a Redis hash tag, so both buckets of a send live in one slot.
"""

from wanode.pacing.gcra import (
    Bucket,
    Rate,
    blocked_until,
    line_up,
    take,
    take_all,
    wait_for,
)
from wanode.pacing.limiter import Limiter, LocalLimiter


def number_key(phone_number_id: str) -> str:
    return f"{{{phone_number_id}}}:number"


def line_key(phone_number_id: str) -> str:
    """The end of the number's line of held sends (`gcra.line_up`)."""
    return f"{{{phone_number_id}}}:line"


def pair_key(phone_number_id: str, wa_id: str) -> str:
    return f"{{{phone_number_id}}}:pair:{wa_id}"


def build_limiter(redis_url: str | None) -> Limiter:
    """Redis when a URL is given (workers share budgets), else this process's memory."""
    if redis_url:
        from wanode.pacing.redis_limiter import RedisLimiter

        return RedisLimiter.from_url(redis_url)
    return LocalLimiter()


__all__ = [
    "Bucket",
    "Limiter",
    "LocalLimiter",
    "Rate",
    "blocked_until",
    "build_limiter",
    "line_key",
    "line_up",
    "number_key",
    "pair_key",
    "take",
    "take_all",
    "wait_for",
]
