"""`wanode worker` processes: run one until it is signalled, or supervise N beside the API."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import signal
import sys
from collections.abc import Callable, Mapping

import structlog

from wanode.cli.bootstrap import open_database
from wanode.config import Settings

log = structlog.get_logger(__name__)

# A worker that dies is started again after this long (a crash loop costs little).
RESTART_DELAY = 1.0
# Seconds a worker has to finish the passes it is in once asked to stop, before it is killed.
STOP_GRACE = 15.0
_PR_SET_PDEATHSIG = 1


# The collector's thresholds once started (Python's are 700, 10, 10): see below.
GC_THRESHOLDS = (10_000, 10, 10)


def freeze_startup_objects() -> None:
    """Move what a started process holds for its whole life (modules, routes, tables, the
    engine's objects: some 200,000) out of the garbage collector's sight. Each full collection
    walked them all, some 120 ms of CPU with the event loop stopped, every several seconds under
    load: the tail of a flow's reply latency (`bench/FLOWS.md`, 2026-12-06).

    Then collect the youngest objects every 10,000 allocations rather than 700. Under load,
    Python's default collected so often that the objects of the requests, sends and DRs in
    flight were still alive at each collection and moved to the older generations, which were
    then walked again and again: 1,200 young, 110 middle and 9 full collections for 5,000
    messages, about a second of the loop's time; with these thresholds 40, 5 and none, about
    0.2 s (`bench/RESULTS.md`, eighth pass). Collection is for reference cycles only; what has
    no cycle is freed when its last reference goes, whatever the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def run_worker(settings: Settings, ready: Callable[[], None]) -> None:
    """Every engine loop, no HTTP, until SIGTERM or SIGINT; then stop between passes."""
    from wanode.engine import Engine, Gateways

    db = open_database(settings)
    try:
        await db.migrate()
        engine = Engine(db, settings, Gateways(settings))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        engine.start()
        freeze_startup_objects()
        if settings.pacing and not settings.redis_url:
            log.warning(
                "worker_paces_alone",
                hint="set WANODE_REDIS_URL so that several workers share the rate limits",
            )
        ready()
        await stop.wait()
        log.info("worker_stopping")
        await engine.stop()
    finally:
        await db.dispose()


class WorkerPool:
    """N `wanode worker` subprocesses: one that dies is started again, and all are stopped
    with the pool. On Linux a worker also gets SIGTERM if the supervising process dies."""

    def __init__(self, count: int, env: Mapping[str, str]) -> None:
        self._count = count
        self._env = dict(env)
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._supervisors: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes.values()]

    async def start(self) -> None:
        for index in range(self._count):
            await self._spawn(index)
            self._supervisors.append(
                asyncio.create_task(self._supervise(index), name=f"wanode-worker-{index}")
            )

    async def stop(self, grace: float = STOP_GRACE) -> None:
        self._stopping.set()
        running = [p for p in self._processes.values() if p.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        if running:
            _done, late = await asyncio.wait(
                [asyncio.create_task(p.wait()) for p in running], timeout=grace
            )
            if late:
                for process in running:
                    if process.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            process.kill()
                await asyncio.gather(*late)
        for task in self._supervisors:
            task.cancel()
        await asyncio.gather(*self._supervisors, return_exceptions=True)

    async def _spawn(self, index: int) -> None:
        self._processes[index] = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wanode",
            "worker",
            env=self._env,
            preexec_fn=_stop_with_parent if sys.platform == "linux" else None,
        )
        log.info("worker_started", index=index, pid=self._processes[index].pid)

    async def _supervise(self, index: int) -> None:
        while True:
            code = await self._processes[index].wait()
            # 0 is a worker that was asked to stop (Ctrl-C reaches the whole process group).
            if self._stopping.is_set() or code == 0:
                return
            log.warning("worker_died", index=index, returncode=code)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=RESTART_DELAY)
                return
            await self._spawn(index)


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment of `serve --workers` workers: this process's, plus how to reach its
    in-process sandbox."""
    env = dict(os.environ)
    env["WANODE_SANDBOX"] = str(settings.sandbox).lower()
    if settings.sandbox and not settings.sandbox_url:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        env["WANODE_SANDBOX_URL"] = f"http://{host}:{settings.port}/sandbox"
    return env


def _stop_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervising process dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
