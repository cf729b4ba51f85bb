"""Group commit: what many tasks write, written together, each told when its part is durable.

A transaction per item was most of the cost on the hot path (on SQLite every transaction waits
its turn; on PostgreSQL each is a round trip and a flush), and a batch barrier (write when the
whole batch is done) holds every item back for the slowest. Here a task adds its item and waits;
items added while one transaction is being written go together in the next one.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import Database

T = TypeVar("T")

Write = Callable[[AsyncConnection, list[T]], Awaitable[None]]

# The engine's writers (sends begun and answered, DRs posted) space their transactions this far
# apart on SQLite (`GroupCommit`'s `linger`). Measured on the batch lifecycle: 3 ms took wanode
# from 0.85-0.95 to 0.73-0.80 ms of CPU per message, 10 ms did no better, and at 50 msg/s
# (writes far apart) it changed nothing.
SQLITE_LINGER = 0.003


def linger_for(db: Database) -> float:
    """The engine writers' `linger` on `db`: SQLITE_LINGER on SQLite, none on PostgreSQL, where
    a transaction waits on round trips and the next items gather meanwhile anyway (spacing
    them there measured no fewer CPU per message, and a slower lifecycle)."""
    return SQLITE_LINGER if db.is_sqlite else 0.0


class GroupCommit(Generic[T]):
    """Writes items with `write(conn, items)`, as many per transaction as have arrived.

    A batch that fails is written again item by item, so one bad item fails alone: its `add`
    raises what the write raised, and the others are committed. `urgent`: a request waits for
    the commit to answer, so on SQLite the transaction goes before the engine's waiting ones.

    `linger`: a transaction begins no sooner than this many seconds after the last one ended.
    Alone, an item is written at once; under a stream of them (a campaign's sends, each
    answered a moment after the last) the items of that moment go together. On SQLite a
    transaction never suspends, so without it each one took only what arrived in one turn of
    the loop: one or two sends each, at some 130 us of COMMIT apiece (the WAL frames of every
    page the rows touch), where one transaction could carry tens of them.
    """

    def __init__(
        self,
        db: Database,
        write: Write[T],
        *,
        name: str,
        urgent: bool = False,
        linger: float = 0.0,
    ) -> None:
        self._db = db
        self._urgent = urgent
        self._write_items = write
        self._name = name
        self._linger = linger
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        # When the last transaction ended (the loop's clock); -inf: none yet.
        self._ended = float("-inf")

    async def add(self, item: T) -> None:
        """Return once `item` is committed."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._writer is None:
            # A fresh context: the writer takes its own database turn (store/db.py), whatever
            # the task that started it holds.
            self._writer = asyncio.create_task(
                self._write(), name=self._name, context=contextvars.Context()
            )
        # Shielded: a caller cancelled while waiting leaves its item to be written all the
        # same, like one cancelled just after the commit.
        await asyncio.shield(done)

    async def _write(self) -> None:
        """Write what is pending, batch after batch, until nothing is."""
        batch: list[tuple[T, asyncio.Future[None]]] = []
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                wait = self._ended + self._linger - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                batch, self._pending = self._pending, []
                try:
                    async with self._db.begin(urgent=self._urgent) as conn:
                        await self._write_items(conn, [item for item, _ in batch])
                except Exception:
                    await self._write_one_by_one(batch)
                else:
                    for _item, done in batch:
                        done.set_result(None)
                batch = []
                self._ended = loop.time()
        finally:
            # Cancelled (the process is stopping): nobody waits forever for an answer.
            stranded, self._pending = [*batch, *self._pending], []
            for _item, done in stranded:
                if not done.done():
                    done.set_exception(RuntimeError(f"{self._name} stopped"))
            self._writer = None

    async def _write_one_by_one(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        for item, done in batch:
            try:
                async with self._db.begin(urgent=self._urgent) as conn:
                    await self._write_items(conn, [item])
            except Exception as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)
