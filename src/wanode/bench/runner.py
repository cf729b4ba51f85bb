"""One benchmark run: for each database, start the stack and take every measurement."""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from wanode.bench.components import Profile, profiled
from wanode.bench.config import BenchConfig
from wanode.bench.loads import (
    BATCH,
    Result,
    pywa_peer,
    sandbox_ceiling,
    wanode_idle,
    wanode_open_loop,
    wanode_request_1000,
    wanode_submit,
)
from wanode.bench.stack import Stack, running, second_serve
from wanode.bench.wire import Receiver

# Seconds between measurements, so one's trailing webhooks and DRs do not load the next.
_SETTLE = 1.0
# Seconds before the idle measurement: the engine's loops back off from WANODE_POLL_INTERVAL
# (0.25 s) to WANODE_IDLE_POLL_MAX (2 s) over the first few empty passes.
_IDLE_QUIET = 5.0

Progress = Callable[[str], None]


async def run_bench(config: BenchConfig, progress: Progress = lambda _: None) -> dict[str, Any]:
    """Run every measurement on every configured database; the JSON report."""
    report: dict[str, Any] = {
        "machine": machine(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "messages": config.messages,
            "numbers": config.numbers,
            "concurrency": config.concurrency,
            "peer_concurrency": config.peer_concurrency,
            "peer_connections": config.peer_connections,
            "pacing_mps_per_number": config.pacing_mps,
            "latency_rate": config.latency_rate,
            "latency_seconds": config.latency_seconds,
            "handset_delays_s": [config.sent_delay, config.delivered_delay, config.read_delay],
            "paced_rate": config.paced_rate,
            "paced_seconds": config.paced_seconds,
            "idle_seconds": config.idle_seconds,
            "skip": sorted(config.skip),
            "profile": config.profile,
        },
        "databases": {},
    }
    receiver = Receiver()
    await receiver.start()
    try:
        for kind in config.databases:
            report["databases"][kind] = await _one_database(config, kind, receiver, progress)
    finally:
        await receiver.close()
    return report


class _Customers:
    """Hands each measurement customers of its own, so none inherits another's history."""

    def __init__(self) -> None:
        self._next = 0

    def take(self, count: int) -> int:
        first, self._next = self._next, self._next + count
        return first


async def _one_database(
    config: BenchConfig, kind: str, receiver: Receiver, progress: Progress
) -> dict[str, Any]:
    n = config.messages
    results: dict[str, Result] = {}
    found: dict[str, Any] = {}
    customers = _Customers()
    receiver.reset()
    progress(f"{kind}: starting sandbox and wanode")
    async with running(config, kind, receiver.url) as stack:
        progress(f"{kind}: sandbox ceiling (bare httpx, {n} messages)")
        results["sandbox"] = await sandbox_ceiling(
            stack,
            messages=n,
            concurrency=config.peer_concurrency,
            connections=config.peer_connections,
            first_customer=customers.take(n),
        )
        await asyncio.sleep(_SETTLE)
        progress(f"{kind}: pywa peer ({n} messages)")
        results["pywa"] = await pywa_peer(
            stack,
            messages=n,
            concurrency=config.peer_concurrency,
            connections=config.peer_connections,
            first_customer=customers.take(n),
        )
        await asyncio.sleep(_SETTLE)
        for label, per_request in (("single", 1), ("batch", BATCH)):
            progress(f"{kind}: wanode submit and lifecycle, {label} requests ({n} messages)")
            async with _profiled(config, stack, label) as profile:
                submit, lifecycle = await wanode_submit(
                    stack,
                    receiver,
                    messages=n,
                    per_request=per_request,
                    concurrency=config.concurrency,
                    first_customer=customers.take(n),
                    tag=f"bench-{label}",
                    phase_timeout=config.phase_timeout,
                )
            _components(lifecycle, profile)
            results[f"submit_{label}"] = submit
            results[f"lifecycle_{label}"] = lifecycle
            if kind == "postgresql" and label == "single":
                found["tables_analyzed"] = await _gather_statistics(stack)
            await asyncio.sleep(_SETTLE)
        if kind == "postgresql" and "workers" not in config.skip:
            # Right after the one-process batch lifecycle, so that the two are compared in the
            # same window of a shared machine.
            progress(f"{kind}: lifecycle, {BATCH}-destination requests, 2 wanode processes")
            async with second_serve(stack) as port:
                await asyncio.sleep(_SETTLE)  # the second process's start-up work done
                _, workers = await wanode_submit(
                    stack,
                    receiver,
                    messages=n,
                    per_request=BATCH,
                    concurrency=config.concurrency,
                    first_customer=customers.take(n),
                    tag="bench-workers",
                    phase_timeout=config.phase_timeout,
                    ports=(stack.wanode_port, port),
                )
            one = results["lifecycle_batch"].extra["cpu_ms_per_msg"]["wanode"]
            two = workers.extra["cpu_ms_per_msg"]["wanode"]
            ratio = round(two / one, 3) if one else None
            workers.extra["cpu_ratio_to_one_process"] = ratio
            results["workers"] = workers
            found["workers_cpu_ratio"] = ratio
            await asyncio.sleep(_SETTLE)
        progress(f"{kind}: API latency at {config.latency_rate:g} msg/s offered")
        results["latency"] = await _open_loop(config, stack, receiver, customers, lifecycle=False)
        await asyncio.sleep(_SETTLE)
        if "paced" not in config.skip:
            progress(
                f"{kind}: lifecycle at {config.paced_rate:g} msg/s offered "
                f"for {config.paced_seconds:g} s"
            )
            async with _profiled(config, stack, "paced") as profile:
                results["paced"] = await _open_loop(
                    config, stack, receiver, customers, lifecycle=True
                )
            _components(results["paced"], profile)
            await asyncio.sleep(_SETTLE)
        if "latency1000" not in config.skip:
            progress(f"{kind}: one {BATCH}-destination request, idle and during a campaign")
            idle, busy = await wanode_request_1000(
                stack,
                receiver,
                campaign=n,
                concurrency=config.concurrency,
                first_customer=customers.take(2 * BATCH + n),
                tag="bench-request1000",
                phase_timeout=config.phase_timeout,
                settle=_SETTLE,
            )
            results["latency1000_idle"] = idle
            results["latency1000_busy"] = busy
            await asyncio.sleep(_SETTLE)
        if "idle" not in config.skip:
            progress(f"{kind}: idle wanode serve for {config.idle_seconds:g} s")
            results["idle"] = await wanode_idle(
                stack, seconds=config.idle_seconds, quiet=_IDLE_QUIET
            )
    pywa = results["pywa"].rate
    return {
        "results": {name: r.as_json() for name, r in results.items()},
        "ratio_to_pywa": {
            "single": round(results["submit_single"].rate / pywa, 3) if pywa else None,
            "batch": round(results["submit_batch"].rate / pywa, 3) if pywa else None,
        },
        **found,
    }


async def _open_loop(
    config: BenchConfig,
    stack: Stack,
    receiver: Receiver,
    customers: _Customers,
    *,
    lifecycle: bool,
) -> Result:
    """An open-loop measurement on customers of its own: the API's latency (at `latency_rate`
    for `latency_seconds`) or, with `lifecycle`, the paced lifecycle (`paced_rate` for
    `paced_seconds`)."""
    if lifecycle:
        label, rate, seconds = "paced", config.paced_rate, config.paced_seconds
    else:
        label, rate, seconds = "latency", config.latency_rate, config.latency_seconds
    return await wanode_open_loop(
        stack,
        receiver,
        rate=rate,
        seconds=seconds,
        concurrency=config.concurrency,
        first_customer=customers.take(max(1, int(rate * seconds))),
        tag=f"bench-{label}",
        phase_timeout=config.phase_timeout,
        lifecycle=lifecycle,
    )


@asynccontextmanager
async def _profiled(config: BenchConfig, stack: Stack, label: str) -> AsyncIterator[Profile | None]:
    """With `config.profile`, py-spy on the wanode process while the block runs."""
    if not config.profile:
        yield None
        return
    async with profiled(stack.wanode_pid, stack.logs / f"profile-{label}.txt") as profile:
        yield profile


async def _gather_statistics(stack: Stack) -> int:
    """ANALYZE the bench's PostgreSQL database, as autovacuum does for a database in service
    between campaigns (queues empty, a few thousand messages behind them); how many tables
    now have statistics. The bench's database is new, and without this every later
    measurement ran on plans made for empty tables, which hid what the planner does with real
    statistics (the twelfth pass in bench/RESULTS.md: DR claims that went quadratic)."""
    async with stack.db.begin() as conn:
        await conn.execute(sa.text("ANALYZE"))
    async with stack.db.begin() as conn:
        query = "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
        return int((await conn.execute(sa.text(query))).scalar_one())


def _components(result: Result, profile: Profile | None) -> None:
    """Share the result's wanode CPU per message out by the profile's components."""
    if profile is not None:
        cpu = result.extra["cpu_ms_per_msg"]["wanode"]
        result.extra["wanode_cpu_by_component"] = profile.split(cpu)


def machine() -> dict[str, Any]:
    """Cores, CPU model and memory, as /proc says them (Linux), and the Python running us."""
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "time": time.strftime("%Y-%m-%d"),
    }
