"""The write-behind loop: every `SandboxConfig.state_flush` seconds, what the journal collected
is written to the state file in one transaction, in a worker thread, so a send pays no write.
At shutdown the last changes are written before the file is closed. A failed write is logged
and kept, to be written with the next batch."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from wanode.sandbox.state.journal import Journal
from wanode.sandbox.state.state_file import Batch

log = structlog.get_logger(__name__)


class Persistence:
    def __init__(self, journal: Journal, every: float) -> None:
        self.journal = journal
        self._every = every
        self._loop: asyncio.Task[None] | None = None
        self._unwritten = Batch()
        self._writing = asyncio.Lock()

    def start(self) -> None:
        """Start the loop; needs a running event loop."""
        if self._loop is None:
            self._loop = asyncio.create_task(self._run(), name="sandbox-state")

    async def flush(self) -> None:
        """Write every change noted so far."""
        async with self._writing:
            batch, self._unwritten = self._unwritten, Batch()
            try:
                batch.extend(self.journal.collect())
                if batch:
                    await asyncio.to_thread(self.journal.file.write, batch)
            # Logged, never raised: the sandbox goes on in memory, and the loop tries again.
            except Exception as exc:
                self._unwritten = batch
                log.error(
                    "sandbox.state.write_failed", path=str(self.journal.file.path), error=str(exc)
                )
                return
            if not batch:
                return
            log.debug(
                "sandbox.state.written",
                rows=len(batch.upserts) + len(batch.deletes),
                media=len(batch.media),
            )

    async def aclose(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        await self.flush()
        self.journal.file.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self.flush()
