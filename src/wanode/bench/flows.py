"""Flow runtime benchmark (not a test): what waiting runs cost, and how fast a reply wakes one.

    .venv/bin/python -m wanode.bench.flows --runs 100000 [--replies 1000 --rate 50]
        [--database sqlite|postgresql|both] [--json bench/results/flows.json]
        [--pyspy /tmp/flows.txt] [--keep DIR] [--pass-spacing SECONDS]

For each database it

1. creates a fresh database (an SQLite file, or a PostgreSQL schema of its own), an app on the
   built-in sandbox with a known app secret, an API key, and deploys a flow
   `start -> receive (7 days) -> text reply -> end`;
2. starts `wanode serve` on it with no runs and reads the process's RSS once it is idle;
3. inserts `--runs` runs, each one what `POST /v1/flows/{id}/runs` makes (the pure `begin`
   step's state, waiting in the Receive node for its own contact, and its `onStart` history
   row), with one multi-row insert per 5,000 runs, and measures the database's growth on disk;
4. starts `wanode serve` again, so that it serves the waiting runs from a cold start, and
   reads its RSS once idle;
5. has `--replies` of those contacts reply, as signed WhatsApp webhooks POSTed to
   `/webhooks/whatsapp` at `--rate` a second (0: all at once, 50 in flight), and measures each
   reply's latency on the service's own clock: the `at` of the run's `whatsapp.mo` history step
   minus the `received_at` of the inbound message the webhook stored. The step commits in the
   same transaction as the reply it queues. Beside the percentiles: the serving process's CPU
   per reply over that phase (comparable on a busy machine, where latencies are not), the load
   average before and after, and the replies per second of receipt with their median and worst
   latency (`per_second`: when a stall happened).

`--pyspy PATH` records the serving process with py-spy during the replies; `--keep DIR` works
in DIR and leaves the databases and the serve logs there; `--pass-spacing SECONDS` sets the
engine loops' `WANODE_PASS_SPACING` and `WANODE_FLOW_PASS_SPACING` (by default 0.05 and 0.01)
for the serving process that takes the replies (the flows
loop serves the replies that come within it of a pass's start with one pass: up to that much
more latency each).

It prints a table and writes the figures as JSON. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from wanode.bench.stack import free_port
from wanode.config import Settings
from wanode.engine.flows import FlowRunner
from wanode.flows import Begin, begin, parse_flow, state_to_json
from wanode.sandbox.webhooks.delivery import sign
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import flows as flow_store
from wanode.store.tables import flow_history, flow_runs, inbound_messages

WANODE = str(Path(sys.executable).with_name("wanode"))
POSTGRES_URL = os.environ.get(
    "WANODE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
FLOW_ID = "bench-reply"
FLOW: dict[str, Any] = {
    "id": FLOW_ID,
    "name": "Benchmark: receive a reply, answer it",
    "nodes": {
        "n1": {"type": "start", "on": {"onStart": "n2"}},
        "n2": {"type": "receive", "timeout": 7 * 86400, "on": {"whatsapp.mo": "n3"}},
        "n3": {
            "type": "whatsapp",
            "destination": "$(whatsapp.waId)",
            "wa": {"type": "text", "text": {"body": "Thanks, we got: $(n2.receive.message)"}},
            "on": {"onSuccess": "n4"},
        },
        "n4": {"type": "end"},
    },
}
CHUNK = 5_000
IN_FLIGHT = 50
SETTLE_SECONDS = 3.0

out = Console()


@dataclass
class Target:
    backend: str
    url: str
    schema: str | None
    workdir: Path

    def env(self) -> dict[str, str]:
        env = {"WANODE_DATABASE_URL": self.url}
        if self.schema:
            env["WANODE_DATABASE_SCHEMA"] = self.schema
        return env

    def database(self) -> Database:
        return Database(self.url, schema=self.schema)


@dataclass
class Setup:
    app: dict[str, Any]
    key: str
    version: int


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "date": datetime.now(UTC).date().isoformat(),
    }


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user and system, all its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    return os.getloadavg()[0]


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@asynccontextmanager
async def target_for(backend: str, workdir: Path) -> AsyncIterator[Target]:
    if backend == "sqlite":
        path = workdir / "sqlite" / "wanode.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        yield Target(backend, f"sqlite+aiosqlite:///{path}", None, path.parent)
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = Database(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        (workdir / "postgresql").mkdir(parents=True, exist_ok=True)
        yield Target(backend, POSTGRES_URL, schema, workdir / "postgresql")
    finally:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


async def prepare(target: Target) -> Setup:
    """A migrated database with one sandbox app (secret known here), a key and the flow."""
    db = target.database()
    try:
        await db.migrate()
        async with db.begin() as conn:
            app = await app_queries.create_app(
                conn,
                name="Bench app",
                phone_number_id="1" + "".join(secrets.choice("0123456789") for _ in range(14)),
                waba_id="2" + "".join(secrets.choice("0123456789") for _ in range(14)),
                display_phone_number="15550100001",
                access_token=secrets.token_urlsafe(32),
                app_secret=secrets.token_hex(16),
                verify_token=secrets.token_urlsafe(16),
                gateway="sandbox",
                graph_base_url=None,
                api_version=None,
                notify_url=None,
            )
            key = await app_queries.create_key(conn, "bench", admin=True)
        runner = FlowRunner(db, Settings(**_settings(target)), clock=time.time)
        row, _flow = await runner.deploy(FLOW, app_id=app["id"])
        await runner.aclose()
    finally:
        await db.dispose()
    return Setup(app=app, key=key, version=int(row["version"]))


def _settings(target: Target) -> dict[str, Any]:
    return {"database_url": target.url, "database_schema": target.schema}


def contacts(runs: int) -> list[str]:
    return [f"4916{i:09d}" for i in range(runs)]


async def insert_runs(target: Target, setup: Setup, runs: int) -> float:
    """`runs` waiting runs, as the API would start them; returns the seconds it took."""
    db = target.database()
    started = time.monotonic()
    try:
        flow = parse_flow(FLOW, version=setup.version, app_id=setup.app["id"])
        numbers = contacts(runs)
        for first in range(0, runs, CHUNK):
            now = time.time()
            batch: list[tuple[str, dict[str, Any]]] = []
            history: list[dict[str, Any]] = []
            for wa_id in numbers[first : first + CHUNK]:
                step = begin(flow, Begin(contact=wa_id), now=now)
                assert step.state.status == "waiting" and not step.intents
                run_id = str(uuid.uuid4())
                batch.append((run_id, state_to_json(step.state)))
                history.extend(
                    {
                        "run_id": run_id,
                        "node": entry.node,
                        "outcome": entry.outcome,
                        "variables": dict(entry.variables),
                        "at": entry.at,
                    }
                    for entry in step.history
                )
            async with db.begin() as conn:
                await flow_store.insert_runs(
                    conn,
                    flow_id=FLOW_ID,
                    version=setup.version,
                    app_id=setup.app["id"],
                    runs=batch,
                    now=now,
                )
                await conn.execute(flow_history.insert(), history)
    finally:
        await db.dispose()
    return time.monotonic() - started


async def database_bytes(target: Target) -> int:
    """The database's size on disk: the SQLite file (WAL checkpointed into it), or every
    relation of the PostgreSQL schema with its indexes and TOAST."""
    db = target.database()
    try:
        async with db.begin() as conn:
            if target.backend == "sqlite":
                await conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
            else:
                size = await conn.execute(
                    sa.text(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = :schema AND c.relkind IN ('r', 'm')"
                    ),
                    {"schema": target.schema},
                )
                return int(size.scalar_one())
    finally:
        await db.dispose()
    path = Path(target.url.removeprefix("sqlite+aiosqlite:///"))
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


class Serve:
    """`wanode serve` on the target's database, as a user starts it."""

    def __init__(self, target: Target, name: str, pass_spacing: float | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = target.workdir / f"serve-{name}.log"
        env = {
            **os.environ,
            **target.env(),
            # The replies come as webhooks, not through the sandbox's handsets: the sandbox has
            # not seen these customers write, so its own 24-hour window check is off.
            "WANODE_SANDBOX_ENFORCE_WINDOW": "false",
            # The benchmark measures wanode, paced by its own settings: the sandbox's copies
            # of Meta's limits (80 messages a second, the pair limit, marketing) are lifted.
            "WANODE_SANDBOX_THROUGHPUT_MPS": "0",
            "WANODE_SANDBOX_PAIR_LIMIT": "false",
            "WANODE_SANDBOX_MARKETING_LIMIT": "0",
        }
        if pass_spacing is not None:
            # `--pass-spacing`: what the engine loops' spacing adds to a reply's latency (the
            # flows loop serves the wake-ups within it with one pass, up to this much later).
            env["WANODE_PASS_SPACING"] = str(pass_spacing)
            env["WANODE_FLOW_PASS_SPACING"] = str(pass_spacing)
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [WANODE, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=target.workdir,
            )

    async def ready(self) -> None:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError("wanode serve died:\n" + self.log_path.read_text())
                try:
                    if (await client.get(f"{self.url}/healthz", timeout=1)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("wanode serve never became healthy:\n" + self.log_path.read_text())

    def rss(self) -> int:
        return rss_bytes(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Profiler:
    """py-spy recording a process until stopped (py-spy sits beside this Python)."""

    def __init__(self, serve: Serve, path: Path) -> None:
        self.path = path
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "-p",
                str(serve.process.pid),
                "-r",
                "100",
                "-f",
                "raw",
                "-o",
                str(path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        out.print(f"py-spy profile: {self.path}")


async def idle_rss(serve: Serve) -> int:
    await serve.ready()
    await asyncio.sleep(SETTLE_SECONDS)
    return serve.rss()


def reply_webhook(app: dict[str, Any], wa_id: str, wamid: str) -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": app["waba_id"],
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": app["display_phone_number"],
                                "phone_number_id": app["phone_number_id"],
                            },
                            "contacts": [{"profile": {"name": "Bench"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": wamid,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": "yes"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


async def replies(serve: Serve, setup: Setup, chosen: list[str], rate: float) -> float:
    """POST one signed reply webhook per contact in `chosen`, open loop at `rate` a second (or
    all at once, IN_FLIGHT at a time, with 0); returns the seconds until the last was answered."""
    secret = setup.app["app_secret"]
    limit = asyncio.Semaphore(IN_FLIGHT)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=serve.url, timeout=60) as client:

        async def post(i: int, wa_id: str) -> None:
            if rate > 0:
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            raw = reply_webhook(setup.app, wa_id, f"wamid.bench{i:08d}{secrets.token_hex(4)}")
            async with limit:
                response = await client.post(
                    "/webhooks/whatsapp",
                    content=raw,
                    headers={
                        "content-type": "application/json",
                        "x-hub-signature-256": sign(raw, secret),
                    },
                )
            response.raise_for_status()

        await asyncio.gather(*(post(i, wa_id) for i, wa_id in enumerate(chosen)))
    return time.monotonic() - started


async def last_history_id(target: Target) -> int:
    db = target.database()
    try:
        async with db.begin() as conn:
            found = (await conn.execute(sa.select(sa.func.max(flow_history.c.id)))).scalar()
            return int(found or 0)
    finally:
        await db.dispose()


async def moved(db: Database, after: int) -> int:
    """Runs that took their `whatsapp.mo` step: history rows past `after` (a primary-key range,
    so that watching costs the service nothing while it works)."""
    async with db.begin() as conn:
        query = sa.select(sa.func.count()).where(
            flow_history.c.id > after, flow_history.c.outcome == "whatsapp.mo"
        )
        return int((await conn.execute(query)).scalar_one())


async def latencies(target: Target) -> list[tuple[float, float]]:
    """Per reply, in order of receipt: the webhook's receive time, and its run's `whatsapp.mo`
    step time minus that."""
    db = target.database()
    try:
        async with db.begin() as conn:
            query = (
                sa.select(
                    inbound_messages.c.received_at,
                    flow_history.c.at - inbound_messages.c.received_at,
                )
                .select_from(flow_history)
                .join(flow_runs, flow_runs.c.id == flow_history.c.run_id)
                .join(inbound_messages, inbound_messages.c.wa_id == flow_runs.c.contact)
                .where(flow_history.c.outcome == "whatsapp.mo")
            )
            rows = (await conn.execute(query)).all()
            return sorted((float(at), float(latency)) for at, latency in rows)
    finally:
        await db.dispose()


def per_second(series: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """The replies grouped by the second they were received in: count, worst and median
    latency (ms), so that a stall shows when it happened."""
    if not series:
        return []
    first = series[0][0]
    seconds: dict[int, list[float]] = {}
    for at, latency in series:
        seconds.setdefault(int(at - first), []).append(latency)
    return [
        {
            "second": second,
            "replies": len(values),
            "p50_ms": round(statistics.median(values) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1),
        }
        for second, values in sorted(seconds.items())
    ]


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile of sorted `values`."""
    rank = max(1, round(p / 100 * len(values) + 0.5 - 1e-9))
    return values[min(rank, len(values)) - 1]


async def bench_one(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    async with target_for(backend, workdir) as target:
        out.print(f"[bold]{backend}[/bold]: preparing")
        setup = await prepare(target)
        size_empty = await database_bytes(target)

        serve = Serve(target, "empty")
        try:
            rss_empty = await idle_rss(serve)
        finally:
            serve.stop()

        out.print(f"{backend}: inserting {args.runs:,} waiting runs")
        insert_seconds = await insert_runs(target, setup, args.runs)
        size_waiting = await database_bytes(target)

        chosen_count = min(args.replies, args.runs)
        step = max(1, args.runs // chosen_count) if chosen_count else 1
        chosen = contacts(args.runs)[::step][:chosen_count]
        serve = Serve(target, "waiting", args.pass_spacing)
        profiler: Profiler | None = None
        try:
            await serve.ready()
            start_ready = time.monotonic()
            async with httpx.AsyncClient(base_url=serve.url, headers={"key": setup.key}) as c:
                flow = (await c.get(f"/v1/flows/{FLOW_ID}")).json()
            assert flow["runs"] == {"waiting": args.runs}, flow["runs"]
            await asyncio.sleep(max(0.0, SETTLE_SECONDS - (time.monotonic() - start_ready)))
            rss_waiting = serve.rss()

            out.print(f"{backend}: {len(chosen):,} replies at {args.rate or 'max'}/s")
            if args.pyspy is not None:
                profiler = Profiler(serve, args.pyspy.with_name(f"{args.pyspy.stem}-{backend}.txt"))
            before = await last_history_id(target)
            load_before = load_average()
            cpu_before = cpu_seconds(serve.process.pid)
            first_post = time.monotonic()
            posted = await replies(serve, setup, chosen, args.rate)
            deadline = time.monotonic() + 120 + len(chosen) / max(args.rate, 1)
            watcher = target.database()
            try:
                while (done := await moved(watcher, before)) < len(chosen):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"only {done} of {len(chosen)} runs moved")
                    await asyncio.sleep(0.25)
            finally:
                await watcher.dispose()
            all_moved = time.monotonic() - first_post
            cpu_replies = cpu_seconds(serve.process.pid) - cpu_before
            load_after = load_average()
            series = await latencies(target)
            rss_after = serve.rss()
        finally:
            if profiler is not None:
                profiler.stop()
            serve.stop()
    found = sorted(latency for _at, latency in series)
    growth = size_waiting - size_empty
    return {
        "backend": backend,
        "runs": args.runs,
        "insert_seconds": round(insert_seconds, 2),
        "db_bytes_empty": size_empty,
        "db_bytes_waiting": size_waiting,
        "db_bytes_per_run": round(growth / args.runs, 1) if args.runs else None,
        "rss_bytes_no_runs": rss_empty,
        "rss_bytes_waiting": rss_waiting,
        "rss_bytes_after_replies": rss_after,
        "replies": len(found),
        "reply_rate": args.rate,
        "pass_spacing": args.pass_spacing,
        "replies_posted_seconds": round(posted, 2),
        "all_runs_moved_seconds": round(all_moved, 2),
        # The serving process's CPU from the first reply until every run moved, per reply: the
        # webhook, the step, the reply's dispatch to the in-process sandbox and its status
        # webhooks (and the few idle polls of that time). Comparable on a busy machine, where
        # the latencies are not.
        "serve_cpu_ms_per_reply": round(cpu_replies * 1000 / max(1, len(chosen)), 2),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "latency_ms": {
            "p50": round(percentile(found, 50) * 1000, 1),
            "p90": round(percentile(found, 90) * 1000, 1),
            "p99": round(percentile(found, 99) * 1000, 1),
            "max": round(found[-1] * 1000, 1),
            "mean": round(statistics.fmean(found) * 1000, 1),
        }
        if found
        else None,
        "per_second": per_second(series),
    }


def show(results: list[dict[str, Any]], host: dict[str, Any]) -> None:
    mib = 1024 * 1024
    table = Table(title=f"flows bench — {host['nproc']} CPUs, {host['cpu']}, {host['ram_gib']} GiB")
    table.add_column("")
    for result in results:
        table.add_column(result["backend"], justify="right")

    def row(label: str, value: Any) -> None:
        table.add_row(label, *(value(r) for r in results))

    row("waiting runs", lambda r: f"{r['runs']:,}")
    row("insert time", lambda r: f"{r['insert_seconds']} s")
    row("DB size, no runs", lambda r: f"{r['db_bytes_empty'] / mib:.1f} MiB")
    row("DB size, runs waiting", lambda r: f"{r['db_bytes_waiting'] / mib:.1f} MiB")
    row("DB bytes per waiting run", lambda r: f"{r['db_bytes_per_run']:,}")
    row("serve RSS, no runs", lambda r: f"{r['rss_bytes_no_runs'] / mib:.1f} MiB")
    row("serve RSS, runs waiting", lambda r: f"{r['rss_bytes_waiting'] / mib:.1f} MiB")
    row("serve RSS, after the replies", lambda r: f"{r['rss_bytes_after_replies'] / mib:.1f} MiB")
    row("replies (rate/s)", lambda r: f"{r['replies']:,} ({r['reply_rate'] or 'max'})")
    row("serve CPU per reply", lambda r: f"{r['serve_cpu_ms_per_reply']} ms")
    row("load average (before, after)", lambda r: " / ".join(map(str, r["load_average"])))
    for name in ("p50", "p90", "p99", "max"):
        row(
            f"reply → next step, {name}",
            lambda r, name=name: f"{r['latency_ms'][name]} ms" if r["latency_ms"] else "-",
        )
    out.print(table)


async def main(args: argparse.Namespace) -> None:
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    host = machine()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="wanode-flows-bench-") as tmp:
        workdir = args.keep if args.keep is not None else Path(tmp)
        for backend in backends:
            results.append(await bench_one(backend, args, workdir))
            # Written after each database, so that a failure on the next keeps these figures.
            report = {
                "machine": host,
                "flow": FLOW,
                "settings": {
                    "runs": args.runs,
                    "replies": args.replies,
                    "rate": args.rate,
                    "pass_spacing": args.pass_spacing,
                },
                "results": results,
            }
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2) + "\n")
    show(results, host)
    out.print(f"written to {args.json}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000, help="waiting runs (100,000)")
    parser.add_argument("--replies", type=int, default=1_000, help="replies timed (1,000)")
    parser.add_argument(
        "--rate", type=float, default=50.0, help="replies a second (50); 0: all at once"
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--pass-spacing",
        type=float,
        default=None,
        help="WANODE_PASS_SPACING for the serving process while the replies come (seconds;"
        " default: the setting's own, 0.05)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "flows.json",
        help="where the figures go (bench/results/flows.json)",
    )
    parser.add_argument(
        "--pyspy",
        type=Path,
        default=None,
        help="record the serving process with py-spy while the replies come (raw format, to"
        " PATH's stem plus -BACKEND.txt; read with python -m wanode.bench.pyspy_top)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="work in this directory and keep it (the SQLite file, the serve logs)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.replies < 1 or args.rate < 0:
        parser.error("--runs and --replies are at least 1, --rate at least 0")
    if args.pass_spacing is not None and args.pass_spacing < 0:
        parser.error("--pass-spacing is at least 0")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
