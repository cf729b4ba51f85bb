"""One benchmark run: for each database, start the stack and take every measurement."""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wanode.bench.config import BenchConfig
from wanode.bench.loads import (
    BATCH,
    Result,
    pywa_peer,
    sandbox_ceiling,
    wanode_latency,
    wanode_submit,
)
from wanode.bench.stack import running
from wanode.bench.wire import Receiver

# Seconds between measurements, so one's trailing webhooks and DRs do not load the next.
_SETTLE = 1.0

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


async def _one_database(
    config: BenchConfig, kind: str, receiver: Receiver, progress: Progress
) -> dict[str, Any]:
    n = config.messages
    results: dict[str, Result] = {}
    progress(f"{kind}: starting sandbox and wanode")
    async with running(config, kind, receiver.url) as stack:
        # Each measurement messages customers of its own, so none inherits another's history.
        progress(f"{kind}: sandbox ceiling (bare httpx, {n} messages)")
        results["sandbox"] = await sandbox_ceiling(
            stack,
            messages=n,
            concurrency=config.peer_concurrency,
            connections=config.peer_connections,
            first_customer=0,
        )
        await asyncio.sleep(_SETTLE)
        progress(f"{kind}: pywa peer ({n} messages)")
        results["pywa"] = await pywa_peer(
            stack,
            messages=n,
            concurrency=config.peer_concurrency,
            connections=config.peer_connections,
            first_customer=n,
        )
        await asyncio.sleep(_SETTLE)
        for label, per_request, first in (("single", 1, 2 * n), ("batch", BATCH, 3 * n)):
            progress(f"{kind}: wanode submit and lifecycle, {label} requests ({n} messages)")
            submit, lifecycle = await wanode_submit(
                stack,
                receiver,
                messages=n,
                per_request=per_request,
                concurrency=config.concurrency,
                first_customer=first,
                tag=f"bench-{label}",
                phase_timeout=config.phase_timeout,
            )
            results[f"submit_{label}"] = submit
            results[f"lifecycle_{label}"] = lifecycle
            await asyncio.sleep(_SETTLE)
        progress(f"{kind}: API latency at {config.latency_rate:g} msg/s offered")
        results["latency"] = await wanode_latency(
            stack,
            rate=config.latency_rate,
            seconds=config.latency_seconds,
            concurrency=config.concurrency,
            first_customer=4 * n,
            tag="bench-latency",
        )
    pywa = results["pywa"].rate
    return {
        "results": {name: r.as_json() for name, r in results.items()},
        "ratio_to_pywa": {
            "single": round(results["submit_single"].rate / pywa, 3) if pywa else None,
            "batch": round(results["submit_batch"].rate / pywa, 3) if pywa else None,
        },
    }


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
