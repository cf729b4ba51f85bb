"""The Redis backend: several worker processes share one budget per number and per pair."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from wanode.pacing.gcra import Bucket, Rate

# Check every bucket, then take from all or none, in one script: atomic across workers
# (`wanode.pacing.gcra.take_all`). KEYS: the buckets; ARGV: now, reserve_within, then
# (interval, tolerance) per bucket. Returns the wait as a string (Redis truncates Lua numbers
# to integers).
_ACQUIRE = """
local now = tonumber(ARGV[1])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key))
  if tat == nil or tat < now then tat = now end
  tats[i] = tat
  local w = tat - tonumber(ARGV[2 * i + 2]) - now
  if w > wait then wait = w end
end
local reply = string.format('%.17g', wait)
if wait > tonumber(ARGV[2]) then return reply end
local at = now + wait
for i, key in ipairs(KEYS) do
  local tat = tats[i]
  if tat < at then tat = at end
  tat = tat + tonumber(ARGV[2 * i + 1])
  redis.call('SET', key, string.format('%.17g', tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
end
return reply
"""

# `wanode.pacing.gcra.line_up`. KEYS: the buckets, then the first one's line; ARGV: now,
# reserve_within, placed (1 or 0), then (interval, tolerance) per bucket. Returns the wait as a
# string.
_LINE_UP = """
local now = tonumber(ARGV[1])
local function set(key, tat)
  redis.call('SET', key, string.format('%.17g', tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
end
local count = #KEYS - 1
local tats = {}
local first = now
local others = now
for i = 1, count do
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat == nil or tat < now then tat = now end
  tats[i] = tat
  local ready = tat - tonumber(ARGV[2 * i + 3])
  if ready < now then ready = now end
  if i == 1 then first = ready elseif ready > others then others = ready end
end
local stored = tonumber(redis.call('GET', KEYS[#KEYS]))
local last = now
if stored ~= nil and stored > now then last = stored end
local at = math.max(first, others)
if ARGV[3] ~= '1' and last > at then at = last end
if at - now <= tonumber(ARGV[2]) then
  for i = 1, count do
    local tat = tats[i]
    if tat < at then tat = at end
    set(KEYS[i], tat + tonumber(ARGV[2 * i + 2]))
  end
  return string.format('%.17g', at - now)
end
local place = math.max(first, last)
if others > place then return string.format('%.17g', others - now) end
set(KEYS[#KEYS], place + tonumber(ARGV[4]))
return string.format('%.17g', place - now)
"""

# KEYS[1]: the bucket; ARGV: until, tolerance, now. Never loosens a bucket.
_BLOCK = """
local tat = tonumber(ARGV[1]) + tonumber(ARGV[2])
local old = tonumber(redis.call('GET', KEYS[1]))
if old ~= nil and old > tat then tat = old end
local ttl = math.ceil((tat - tonumber(ARGV[3])) * 1000) + 1000
if ttl < 1000 then ttl = 1000 end
redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', ttl)
return 1
"""


class RedisLimiter:
    """Buckets in Redis under `prefix`; a bucket's key expires once it is full again."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "wanode:pacing:") -> None:
        self._client = client
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._block = client.register_script(_BLOCK)
        self._line_up = client.register_script(_LINE_UP)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "wanode:pacing:") -> RedisLimiter:
        return cls(aioredis.from_url(url), prefix=prefix)

    async def acquire(
        self, buckets: Sequence[Bucket], now: float, *, reserve_within: float = 0.0
    ) -> float:
        args: list[Any] = [repr(now), repr(reserve_within)]
        for _key, rate in buckets:
            args += [repr(rate.interval), repr(rate.tolerance)]
        keys = [self._prefix + key for key, _rate in buckets]
        return float(await self._acquire(keys=keys, args=args))

    async def line_up(
        self,
        buckets: Sequence[Bucket],
        now: float,
        *,
        reserve_within: float,
        line: str,
        placed: bool = False,
    ) -> float:
        args: list[Any] = [repr(now), repr(reserve_within), "1" if placed else "0"]
        for _key, rate in buckets:
            args += [repr(rate.interval), repr(rate.tolerance)]
        keys = [self._prefix + key for key in (*(key for key, _rate in buckets), line)]
        return float(await self._line_up(keys=keys, args=args))

    async def block(self, key: str, rate: Rate, until: float, now: float) -> None:
        await self._block(
            keys=[self._prefix + key], args=[repr(until), repr(rate.tolerance), repr(now)]
        )

    async def aclose(self) -> None:
        await self._client.aclose()
