"""The platform's event hook: a subscription per handset, fed a notice whenever something a
watcher of that handset would draw changes, so a live view (the console's simulator) waits for
the next notice instead of polling.

Notices (`Notice.kind`):
- `inbox`: a business's message reached the handset's inbox (its first status: sent, or failed);
- `sent`: the handset sent a message to a business;
- `status`: a message changed status (a business's message delivered or read, or the handset's
  own message marked read by the business);
- `settings`: the handset's settings, profile name, identity, blocks or opt-outs changed.

A notice says what changed, not the whole of it: a watcher reads the handset again (through
the control panel) to draw it. Publishing never waits and costs a dict lookup when nobody
watches. Each subscription's queue is bounded: a slow watcher loses its oldest notices, not
the newest (`Subscription.dropped` counts them), and since a watcher re-reads the handset on
any notice, what it draws stays right.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

Kind = Literal["inbox", "sent", "status", "settings"]
# A watcher far enough behind to fill this loses the oldest notices first.
QUEUE_SIZE = 256


@dataclass(frozen=True)
class Notice:
    wa_id: str
    kind: Kind
    # The message concerned (inbox, sent, status) and its status now (status, inbox).
    message_id: str | None = None
    status: str | None = None


class Subscription:
    """The notices of one handset, oldest first, for one watcher. Use as an async context
    manager (or call `close`) so the hub forgets it."""

    def __init__(self, hub: HandsetEvents, wa_id: str, size: int) -> None:
        self.wa_id = wa_id
        self.dropped = 0
        self.closed = False
        self._hub = hub
        self._queue: deque[Notice] = deque(maxlen=size)
        self._ready = asyncio.Event()

    async def get(self) -> Notice | None:
        """The next notice, waiting for one; None once the subscription is closed."""
        while not self._queue:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def pending(self) -> list[Notice]:
        """Every notice already queued, without waiting (a watcher draws them at once)."""
        found = list(self._queue)
        self._queue.clear()
        return found

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._hub._forget(self)
            self._ready.set()

    def _offer(self, notice: Notice) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(notice)
        self._ready.set()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class HandsetEvents:
    """The fan-out: who watches which handset. Lives on the event loop's thread, as the
    platform does."""

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._watchers: dict[str, set[Subscription]] = {}

    def subscribe(self, wa_id: str) -> Subscription:
        subscription = Subscription(self, wa_id, self._queue_size)
        self._watchers.setdefault(wa_id, set()).add(subscription)
        return subscription

    def watchers(self, wa_id: str) -> int:
        return len(self._watchers.get(wa_id, ()))

    def publish(
        self, wa_id: str, kind: Kind, message_id: str | None = None, status: str | None = None
    ) -> None:
        """Tell the handset's watchers; with none (the usual case) only a dict lookup."""
        watchers = self._watchers.get(wa_id)
        if not watchers:
            return
        notice = Notice(wa_id, kind, message_id, status)
        for subscription in watchers:
            subscription._offer(notice)

    def close(self) -> None:
        """End every subscription (the platform is closing): each watcher's `get` answers None."""
        for subscriptions in list(self._watchers.values()):
            for subscription in list(subscriptions):
                subscription.close()

    def _forget(self, subscription: Subscription) -> None:
        subscriptions = self._watchers.get(subscription.wa_id)
        if subscriptions is not None:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._watchers[subscription.wa_id]
