"""The system under test, started as a user starts it: a `wanode sandbox` process, a
`wanode serve --no-sandbox` process whose apps point at it over loopback HTTP, and a fresh
database (a temporary SQLite file, or a PostgreSQL database created for the run and dropped
after it)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from wanode.bench.config import BenchConfig
from wanode.store import Database
from wanode.store import apps as app_queries

API_VERSION = "v23.0"
_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Number:
    """A business number provisioned on the sandbox (and, for wanode's, an app in wanode)."""

    phone_number_id: str
    waba_id: str
    access_token: str
    app_secret: str
    app_id: str | None = None


@dataclass
class Stack:
    database: str
    database_url: str
    sandbox_url: str
    wanode_url: str
    wanode_port: int
    key: str
    numbers: list[Number]  # wanode's apps: their webhooks go to wanode
    peers: list[Number]  # the same sandbox, for pywa and bare httpx: webhooks dropped
    db: Database
    logs: Path
    wanode_pid: int
    sandbox_pid: int
    env: dict[str, str] = field(default_factory=dict)
    # `wanode serve` processes started beside the first (see `second_serve`), while they run.
    extra_wanode_pids: list[int] = field(default_factory=list)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by wanode, the sandbox and this process (the load side).

        With a second wanode process running, `wanode` is the sum over both, and `wanode_0`,
        `wanode_1` are each one's."""
        wanode = [cpu_seconds(pid) for pid in (self.wanode_pid, *self.extra_wanode_pids)]
        spent = {
            "wanode": sum(wanode),
            "sandbox": cpu_seconds(self.sandbox_pid),
            "client": time.process_time(),
        }
        if len(wanode) > 1:
            spent.update({f"wanode_{i}": cpu for i, cpu in enumerate(wanode)})
        if self.database == "postgresql" and _local(self.database_url):
            server = postgres_cpu_seconds()
            if server is not None:
                spent["postgresql"] = server
        return spent

    async def sent_twice_or_missing(self, waids: Sequence[str]) -> list[str]:
        """What the sandbox's receive log says is wrong with a run that messaged each of
        `waids` once: a customer sent to twice or never, or a send answered again for a
        repeated idempotency key (Graph would have sent it twice). Empty when all is well."""
        wanted = set(waids)
        sent: Counter[str] = Counter()
        wamids: set[str] = set()
        replayed = 0
        async with httpx.AsyncClient(
            base_url=self.sandbox_url, timeout=120.0, trust_env=False
        ) as client:
            for number in self.numbers:
                params = {"phone_number_id": number.phone_number_id}
                log = await client.get("/log", params=params)
                log.raise_for_status()
                for entry in orjson.loads(log.content):
                    if entry["to"] in wanted:
                        sent[entry["to"]] += 1
                        wamids.add(entry["wamid"])
                replays = await client.get("/log/replays", params=params)
                replays.raise_for_status()
                replayed += sum(1 for r in orjson.loads(replays.content) if r["wamid"] in wamids)
        found = []
        twice = [waid for waid, count in sent.items() if count > 1]
        if twice:
            found.append(f"{len(twice)} customers sent to more than once (e.g. {twice[0]})")
        if len(sent) != len(wanted):
            found.append(f"{len(wanted) - len(sent)} of {len(wanted)} customers never sent to")
        if replayed:
            found.append(f"{replayed} sends repeated with the same idempotency key")
        return found

    async def count_accepted(self, tag: str) -> tuple[int, float | None]:
        """How many messages of run `tag` the gateway accepted, and when the last one was."""
        from wanode.store.tables import messages

        query = sa.select(sa.func.count(messages.c.wamid), sa.func.max(messages.c.submitted_at))
        query = query.where(messages.c.correlationid == tag)
        async with self.db.begin() as conn:
            count, last = (await conn.execute(query)).one()
        return int(count), last


def _local(url: str) -> bool:
    """Whether the database server of `url` runs on this machine (loopback or a socket)."""
    return sa.make_url(url).host in (None, "", "localhost", "127.0.0.1", "::1")


def postgres_cpu_seconds() -> float | None:
    """CPU seconds used so far by the PostgreSQL server on this machine (None when none of its
    processes is visible): every `postgres` process, the postmaster with the time of the
    backends it has reaped (a connection closed during a measurement still counts).

    On a machine of two cores the server takes about as much CPU per message as wanode: a
    rate bounded by the cores is bounded by both, so the bench reports both."""
    total, found = 0, False
    clock = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        head, _, rest = stat.rpartition(")")
        if head.partition("(")[2] != "postgres":
            continue
        fields = rest.split()
        # utime, stime, and the waited-for children's cutime, cstime.
        total += sum(int(value) for value in fields[11:15])
        found = True
    return total / clock if found else None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process `pid` (Linux /proc; 0 elsewhere).

    On a shared machine wall-clock rates swing with other load; CPU spent per message does
    not, so the report gives both."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(log: Path) -> str:
    """The end of a process's log, for an error saying why it did not start."""
    return log.read_text()[-3000:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _number(prefix: str) -> Number:
    return Number(
        phone_number_id=prefix + "".join(secrets.choice("0123456789") for _ in range(14)),
        waba_id="2" + "".join(secrets.choice("0123456789") for _ in range(14)),
        access_token=secrets.token_urlsafe(24),
        app_secret=secrets.token_hex(16),
    )


@asynccontextmanager
async def _database(config: BenchConfig, kind: str, workdir: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir}/bench.db"
        return
    server = sa.make_url(config.postgres_url)
    name = "wanode_bench_" + secrets.token_hex(4)
    admin = Database(config.postgres_url)
    try:
        async with admin.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _prepare(db: Database, numbers: list[Number], notify_url: str, sandbox_url: str) -> str:
    await db.migrate()
    async with db.begin() as conn:
        for i, number in enumerate(numbers):
            app = await app_queries.create_app(
                conn,
                name=f"bench {i}",
                phone_number_id=number.phone_number_id,
                waba_id=number.waba_id,
                display_phone_number=f"1555010{i:04d}",
                access_token=number.access_token,
                app_secret=number.app_secret,
                verify_token=secrets.token_urlsafe(8),
                gateway="sandbox",
                graph_base_url=sandbox_url,
                api_version=API_VERSION,
                notify_url=notify_url,
            )
            numbers[i] = dataclasses.replace(number, app_id=app["id"])
        return await app_queries.create_key(conn, "bench", admin=True)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "wanode", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log.parent,
        )


async def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url} exited early:\n{_tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {_START_TIMEOUT} s:\n{_tail(log)}")


async def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def running(config: BenchConfig, kind: str, notify_url: str) -> AsyncIterator[Stack]:
    """Start the sandbox and wanode on `kind`'s database; stop and clean up after."""
    with tempfile.TemporaryDirectory(prefix=f"wanode-bench-{kind}-") as tmp:
        workdir = Path(tmp)
        async with _database(config, kind, workdir) as url:
            sandbox_port, wanode_port = free_port(), free_port()
            sandbox_url = f"http://127.0.0.1:{sandbox_port}"
            wanode_url = f"http://127.0.0.1:{wanode_port}"
            numbers = [_number("1") for _ in range(config.numbers)]
            peers = [_number("3") for _ in range(config.numbers)]
            db = Database(url)
            processes: list[subprocess.Popen[bytes]] = []
            try:
                key = await _prepare(db, numbers, notify_url, sandbox_url)
                env = _environment(config, url)
                sandbox_log = workdir / "sandbox.log"
                processes.append(
                    _spawn(
                        ["sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port)],
                        env,
                        sandbox_log,
                    )
                )
                await _wait_ready(f"{sandbox_url}/numbers", processes[-1], sandbox_log)
                await _provision(sandbox_url, numbers, f"{wanode_url}/webhooks/whatsapp")
                await _provision(sandbox_url, peers, None)
                wanode_log = workdir / "wanode.log"
                processes.append(_spawn(_serve_args(wanode_port), env, wanode_log))
                await _wait_ready(f"{wanode_url}/healthz", processes[-1], wanode_log)
                yield Stack(
                    database=kind,
                    database_url=url,
                    sandbox_url=sandbox_url,
                    wanode_url=wanode_url,
                    wanode_port=wanode_port,
                    key=key,
                    numbers=numbers,
                    peers=peers,
                    db=db,
                    logs=workdir,
                    wanode_pid=processes[1].pid,
                    sandbox_pid=processes[0].pid,
                    env=env,
                )
            finally:
                for process in reversed(processes):
                    await _stop(process)
                await db.dispose()


def _serve_args(port: int) -> list[str]:
    return ["serve", "--no-sandbox", "--host", "127.0.0.1", "--port", str(port)]


@asynccontextmanager
async def second_serve(stack: Stack) -> AsyncIterator[int]:
    """Another `wanode serve` over the stack's database, with the same settings, on a port of
    its own (yielded); its CPU counts in `stack.cpu()` while it runs. Its engine claims work
    beside the first's (leases, SKIP LOCKED); each process paces on its own (no Redis), which
    does not bind at the bench's rates. The sandbox's webhooks still go to the first."""
    port = free_port()
    log = stack.logs / f"wanode-{port}.log"
    process = _spawn(_serve_args(port), stack.env, log)
    try:
        await _wait_ready(f"http://127.0.0.1:{port}/healthz", process, log)
        stack.extra_wanode_pids.append(process.pid)
        yield port
    finally:
        if process.pid in stack.extra_wanode_pids:
            stack.extra_wanode_pids.remove(process.pid)
        await _stop(process)


async def _provision(sandbox_url: str, numbers: list[Number], webhook_url: str | None) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url, trust_env=False) as client:
        for i, number in enumerate(numbers):
            body: dict[str, Any] = {
                "phone_number_id": number.phone_number_id,
                "waba_id": number.waba_id,
                "display_phone_number": f"1555020{i:04d}",
                "access_token": number.access_token,
                "app_secret": number.app_secret,
                "webhook_url": webhook_url,
            }
            (await client.post("/numbers", json=body)).raise_for_status()


def _environment(config: BenchConfig, database_url: str) -> dict[str, str]:
    """wanode as the issue benchmarks it: pacing at `pacing_mps` per number, the pair limit
    lifted (a benchmark reaches each customer many times), windows off (the handsets never
    wrote), DRs allowed to a loopback receiver, logs at warning. The sandbox's own limits
    (Meta's 80 messages a second per number, the pair limit, the per-user marketing limit)
    are lifted too: the benchmark measures wanode, paced by its own settings."""
    return {
        **os.environ,
        "WANODE_DATABASE_URL": database_url,
        "WANODE_LOG_LEVEL": "warning",
        "WANODE_PACING": "true",
        "WANODE_PACING_NUMBER_MPS": str(config.pacing_mps),
        "WANODE_PACING_PAIR_BURST": "1000000",
        "WANODE_POLICY_WINDOW": "false",
        "WANODE_ALLOW_PRIVATE_URLS": "true",
        "WANODE_SANDBOX_ENFORCE_WINDOW": "false",
        "WANODE_SANDBOX_THROUGHPUT_MPS": "0",
        "WANODE_SANDBOX_PAIR_LIMIT": "false",
        "WANODE_SANDBOX_MARKETING_LIMIT": "0",
        "WANODE_SANDBOX_SENT_DELAY": str(config.sent_delay),
        "WANODE_SANDBOX_DELIVERED_DELAY": str(config.delivered_delay),
        "WANODE_SANDBOX_READ_DELAY": str(config.read_delay),
        "WANODE_TEMPLATE_SYNC_INTERVAL": "0",
        # Meta may put up to 1,000 updates in one webhook POST; so does the sandbox here.
        "WANODE_SANDBOX_WEBHOOK_BATCH": "250",
    }
