"""Waking idle loops in other processes: a Redis channel carries the names of loops with work.

An API process that queues work publishes the loops concerned; every process running loops
listens and cuts their sleep short, so a worker does not wait out its poll interval. It is only
a hint: a lost message (Redis down, a listener reconnecting) costs one poll interval, never
work, since the database is what loops read.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterable

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

CHANNEL = "wanode:wake"
_RECONNECT_DELAY = 1.0
# A publication ends with its sender's id, marked so that no loop is ever named by it (older
# listeners look it up as a loop name and find none).
_SENDER = "@"


class Wakeups:
    """Publishes and listens on one Redis channel."""

    def __init__(self, client: aioredis.Redis, *, channel: str = CHANNEL) -> None:
        self._client = client
        self._channel = channel
        self._pending: set[str] = set()
        self._flushing: asyncio.Task[None] | None = None
        # This process's own publications come back to its listener: its loops were woken when
        # it published, and waking them again would cost each one more pass.
        self._sender = _SENDER + uuid.uuid4().hex

    @classmethod
    def from_url(cls, url: str, *, channel: str = CHANNEL) -> Wakeups:
        return cls(aioredis.from_url(url), channel=channel)

    def publish(self, loops: Iterable[str]) -> None:
        """Tell every listener that `loops` have work. Returns at once; names published while
        one publication is on its way are sent together in the next."""
        self._pending.update(loops)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="wanode-wakeups")

    async def listen(self, woken: Callable[[list[str]], None]) -> None:
        """Call `woken(loop names)` for each publication, until cancelled."""
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    names = bytes(message["data"]).decode().split(",")
                    if self._sender not in names:
                        woken([name for name in names if not name.startswith(_SENDER)])
            except (RedisError, OSError) as exc:
                log.warning("wakeups_listen_failed", error=type(exc).__name__)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(_RECONNECT_DELAY)

    async def aclose(self) -> None:
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing
        await self._client.aclose()

    async def _flush(self) -> None:
        while self._pending:
            names, self._pending = self._pending, set()
            try:
                await self._client.publish(self._channel, ",".join([*sorted(names), self._sender]))
            except (RedisError, OSError) as exc:
                # The listeners poll anyway; the next publication tries again.
                log.warning("wakeups_publish_failed", error=type(exc).__name__)
                return
