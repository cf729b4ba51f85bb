"""Meta's send rate limits (cloud-api.md §9), enforced when `SandboxConfig` asks for them.

- Throughput per business number (`SandboxConfig.throughput_mps`; Meta's default is 80):
  sends beyond it are refused with 130429 "Rate limit hit". A bucket of `mps` messages per
  second lets a full second's worth through at once, then one per `1 / mps` seconds. Messages
  the number receives from handsets count too ("sent plus received"); they are never refused,
  but they use up the quota the number's sends then lack.
- The pair limit (`SandboxConfig.pair_limit`): one message every 6 s from a number to the same
  user, in bursts of up to 45 that are paid back by quiet afterwards; beyond it, 131056.

Both answer synchronously, as §8 has it, and a refused send takes nothing from either bucket.
The buckets are GCRA (`wanode.pacing.gcra`) on the sandbox's `clock`, so tests move the clock
instead of sleeping.
"""

from __future__ import annotations

from wanode.pacing.gcra import Rate, take, wait_for
from wanode.sandbox.rules.errors import MetaError

PAIR_RATE = Rate(interval=6.0, burst=45)
# A wait shorter than this is rounding, not a limit: a float clock near today's Unix time
# resolves about 0.24 µs, and a client (or a test) stepping it by 1/mps drifts a little each step.
_SLACK = 1e-3


def throughput_rate(mps: float) -> Rate:
    """`mps` messages per second, a full second's worth at once from an idle number."""
    return Rate.per_second(mps, burst=max(1, int(mps)))


class RateLimits:
    """The number and pair buckets of one sandbox."""

    def __init__(self, throughput_mps: float | None, pair_limit: bool) -> None:
        self._mps = throughput_mps
        self._number = throughput_rate(throughput_mps) if throughput_mps is not None else None
        self._pair = PAIR_RATE if pair_limit else None
        self._tats: dict[str, float] = {}
        # Times are kept relative to the first one seen, so the bucket arithmetic itself keeps
        # full precision.
        self._origin: float | None = None

    def send(self, phone_number_id: str, wa_id: str, now: float) -> None:
        """Take one send from `phone_number_id` to `wa_id`, or raise 130429 / 131056."""
        buckets: list[tuple[str, Rate]] = []
        if self._number is not None:
            buckets.append((_number_key(phone_number_id), self._number))
        if self._pair is not None:
            buckets.append((f"pair:{phone_number_id}:{wa_id}", self._pair))
        if not buckets:
            return
        at = self._relative(now)
        waits = [wait_for(self._tats.get(key), rate, at) for key, rate in buckets]
        if max(waits) <= _SLACK:
            for key, rate in buckets:
                self._tats[key] = take(self._tats.get(key), rate, at)
            return
        number_wait = waits[0] if self._number is not None else 0.0
        if number_wait > _SLACK:
            raise MetaError(
                130429,
                "Message failed to send because there were too many messages sent from this "
                f"phone number in a short period of time (limit {self._mps:g} "
                f"messages per second); retry in {number_wait:.3f} s",
            )
        raise MetaError(
            131056,
            "Message failed to send because there were too many messages sent from this phone "
            f"number to the same phone number in a short period of time (limit one per "
            f"{PAIR_RATE.interval:g} s, bursts of {PAIR_RATE.burst}); retry in {waits[-1]:.3f} s",
        )

    def received(self, phone_number_id: str, now: float) -> None:
        """A message from a handset reached `phone_number_id`: it uses the number's quota."""
        if self._number is None:
            return
        key = _number_key(phone_number_id)
        self._tats[key] = take(self._tats.get(key), self._number, self._relative(now))

    def _relative(self, now: float) -> float:
        if self._origin is None:
            self._origin = now
        return now - self._origin


def _number_key(phone_number_id: str) -> str:
    return f"number:{phone_number_id}"
