"""Server CPU per request on the API's hot routes, and an idle server's CPU.

`wanode serve` (in-process sandbox) runs in a subprocess; its CPU is read from /proc/<pid>/stat
before and after each phase, so other load on the machine moves the rates, not the figures.

- asgi: the refused request (below) handed to the app's ASGI callable in this process, no
  server and no client: the app's own CPU per request, the least noisy figure;
- messaging: N single-destination `POST /resources/v1/messaging` requests, 16 in flight over a
  keep-alive httpx client, to `serve --no-worker` (no engine loop runs: the figure is the
  route's, the group-committed write included);
- refused: the same requests without a destination, refused (400) after the key check and the
  body's parse: the route's cost without the write;
- webhook: N signed one-status webhooks to the same server (stored in the status inbox);
- lifecycle: the messaging phase on a server with its loops on, until every message is `read`:
  send, status webhooks, status passes and the wake-ups between them;
- idle: a server with its loops on and nothing to do, over `--idle` seconds.

    .venv/bin/python -m wanode.bench.api [--requests 2000] [--rounds 1] [--db sqlite|postgresql]
        [--idle 30] [--phases asgi,messaging,refused,webhook,lifecycle,idle]

To measure another tree (a `git worktree` of an older commit, say), run it with
PYTHONPATH=<tree>/src: the server runs on this interpreter with that path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.types import Message

import wanode
from wanode.bench.stack import cpu_seconds, free_port
from wanode.cli.bootstrap import build_service, ensure_defaults
from wanode.config import Settings
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store.keyring import Keyring, new_key
from wanode.store.tables import messages

CONCURRENCY = 16
API_PHASES = ("messaging", "refused", "webhook")
PHASES = ("asgi", *API_PHASES, "lifecycle", "idle")
WARMUP = 200
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
# Short handset delays: the lifecycle figure is wanode's, not the simulated customer's.
ENV = {
    "WANODE_SANDBOX_SENT_DELAY": "0.05",
    "WANODE_SANDBOX_DELIVERED_DELAY": "0.1",
    "WANODE_SANDBOX_READ_DELAY": "0.15",
    "WANODE_POLICY_WINDOW": "false",
    "WANODE_SANDBOX_ENFORCE_WINDOW": "false",
    "WANODE_PACING_NUMBER_MPS": "1000",
    "WANODE_LOG_LEVEL": "warning",
}


@dataclass
class Server:
    process: asyncio.subprocess.Process
    url: str
    key: str
    app_id: str
    phone_number_id: str
    app_secret: str
    db: Database

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)


@asynccontextmanager
async def database(kind: str, workdir: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir}/api-bench.db"
        return
    name = "wanode_api_bench_" + secrets.token_hex(4)
    admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@asynccontextmanager
async def serve(kind: str, *, worker: bool, env: dict[str, str]) -> AsyncIterator[Server]:
    """`wanode serve` on a fresh database; stopped (and the database dropped) after."""
    with tempfile.TemporaryDirectory(prefix="wanode-api-bench-") as tmp:
        workdir = Path(tmp)
        async with database(kind, workdir) as url:
            port = free_port()
            log_path = workdir / "serve.log"
            args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
            if not worker:
                args.append("--no-worker")
            # The server stores the app's secrets encrypted; the bench reads them with its key.
            key = new_key()
            with log_path.open("wb") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "wanode",
                    *args,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    env={
                        **os.environ,
                        **env,
                        "WANODE_DATABASE_URL": url,
                        "WANODE_SECRET_KEY": key,
                    },
                    cwd=workdir,
                )
            db = Database(url, keyring=Keyring([key]))
            try:
                yield await _started(process, f"http://127.0.0.1:{port}", log_path, db)
            finally:
                if process.returncode is None:
                    process.terminate()
                    try:
                        await asyncio.wait_for(process.wait(), 15)
                    except TimeoutError:
                        process.kill()
                        await process.wait()
                await db.dispose()


async def _started(
    process: asyncio.subprocess.Process, url: str, log_path: Path, db: Database
) -> Server:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
        while True:
            if process.returncode is not None:
                raise RuntimeError("wanode serve exited:\n" + await _tail(log_path))
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("wanode serve did not start:\n" + await _tail(log_path))
            await asyncio.sleep(0.1)
    output = await asyncio.to_thread(log_path.read_text)
    app_id = re.search(r"default app id: (a_\d+)", output)
    number = re.search(r"default app phone_number_id: (\d+)", output)
    key = re.search(r"^(wk_\S+)$", output, re.MULTILINE)
    if not (app_id and number and key):
        raise RuntimeError("no app id, number or key in the output:\n" + await _tail(log_path))
    async with db.begin() as conn:
        app = await app_queries.get_app(conn, app_id.group(1))
    assert app is not None
    return Server(
        process, url, key.group(1), app_id.group(1), number.group(1), app["app_secret"], db
    )


async def _tail(log_path: Path) -> str:
    return (await asyncio.to_thread(log_path.read_text))[-3000:]


def text_request(app_id: str, number: str) -> bytes:
    return orjson.dumps(
        {
            "appid": app_id,
            "deliverychannel": "whatsapp",
            "destination": [{"waid": [number]}],
            "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "hello"}}}},
        }
    )


def status_webhook(phone_number_id: str, i: int) -> bytes:
    status = {
        "id": f"wamid.api-bench-{i}",
        "status": "delivered",
        "timestamp": str(int(time.time())),
        "recipient_id": f"49151{i:08d}",
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100001", "phone_number_id": phone_number_id},
        "statuses": [status],
    }
    entry = {"id": "1", "changes": [{"value": value, "field": "messages"}]}
    return orjson.dumps({"object": "whatsapp_business_account", "entry": [entry]})


async def load(
    server: Server, path: str, bodies: list[bytes], headers: dict[str, str], *, status: int = 200
) -> float:
    """Post `bodies` (after a warm-up of the first few), each answered `status`; the server's
    CPU ms per request."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=server.url, limits=limits, trust_env=False, timeout=30
    ) as client:
        slots = asyncio.Semaphore(CONCURRENCY)

        async def one(body: bytes) -> None:
            async with slots:
                extra = headers
                if path.startswith("/webhooks"):
                    digest = hmac.new(server.app_secret.encode(), body, hashlib.sha256)
                    extra = {**headers, "x-hub-signature-256": "sha256=" + digest.hexdigest()}
                response = await client.post(path, content=body, headers=extra)
                assert response.status_code == status, response.text

        await asyncio.gather(*(one(body) for body in bodies[:WARMUP]))
        began = server.cpu()
        await asyncio.gather(*(one(body) for body in bodies[WARMUP:]))
        return 1000 * (server.cpu() - began) / (len(bodies) - WARMUP)


async def count_read(db: Database) -> int:
    query = sa.select(sa.func.count()).select_from(messages).where(messages.c.status == "read")
    async with db.begin() as conn:
        return int((await conn.execute(query)).scalar_one())


async def run(kind: str, requests: int, idle: float, phases: set[str], rounds: int) -> None:
    print(f"database {kind}, {requests} requests a phase, {CONCURRENCY} in flight")
    numbers = [f"49151{i:08d}" for i in range(WARMUP + requests)]
    if "asgi" in phases:
        await asgi_phase(requests, rounds)
    if phases & {"messaging", "refused", "webhook"}:
        await api_phases(kind, numbers, phases, rounds)
    if "lifecycle" in phases:
        await lifecycle(kind, numbers)
    if "idle" in phases and idle > 0:
        await idle_phase(kind, idle)


async def asgi_phase(requests: int, rounds: int) -> None:
    """The refused request handed to the app's ASGI callable in this process: no server, no
    client, no database write; the CPU of the app's own layers (routing, dependencies, the
    handler, the error's answer), thread-pool hops included (`process_time` counts threads)."""
    with tempfile.TemporaryDirectory(prefix="wanode-api-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/asgi.db"
        db = Database(url)
        await db.migrate()
        first = await ensure_defaults(db, gateway="sandbox")
        assert first.new_key is not None
        app, ctx = build_service(Settings(database_url=url, sandbox=False), db, worker=False)
        body = orjson.dumps(
            {**orjson.loads(text_request(first.app["id"], "4915100000000")), "destination": None}
        )
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/resources/v1/messaging",
            "raw_path": b"/resources/v1/messaging",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"wanode"),
                (b"key", first.new_key.encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "server": ("wanode", 80),
            "client": ("127.0.0.1", 1),
        }
        statuses: set[int] = set()

        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.add(message["status"])

        figures = []
        try:
            for _ in range(WARMUP):
                await app(dict(scope), receive, send)
            for _ in range(rounds):
                began = time.process_time()
                for _ in range(requests):
                    await app(dict(scope), receive, send)
                figures.append(1000 * (time.process_time() - began) / requests)
        finally:
            await ctx.engine.gateways.aclose()
            await ctx.engine.notify_client.aclose()
            await db.dispose()
        assert statuses == {400}, statuses
    each = ", ".join(f"{cpu:.3f}" for cpu in figures)
    median = statistics.median(figures)
    print(f"asgi       (refused, in-process) CPU {median:.3f} ms/request ({each})")


async def api_phases(kind: str, numbers: list[str], phases: set[str], rounds: int) -> None:
    figures: dict[str, list[float]] = {phase: [] for phase in API_PHASES if phase in phases}
    async with serve(kind, worker=False, env=ENV) as server:
        bodies = [text_request(server.app_id, n) for n in numbers]
        # Refused after the key check and the body's parse (no `destination`): the route's
        # own cost, without the write.
        refused = [orjson.dumps({**orjson.loads(body), "destination": None}) for body in bodies]
        headers = {"key": server.key, "content-type": "application/json"}
        for i in range(rounds):
            if "messaging" in figures:
                cpu = await load(server, "/resources/v1/messaging", bodies, headers)
                figures["messaging"].append(cpu)
            if "refused" in figures:
                cpu = await load(server, "/resources/v1/messaging", refused, headers, status=400)
                figures["refused"].append(cpu)
            if "webhook" in figures:
                # New wamids each round: a repeated status is a duplicate, cheaper to store.
                first = i * len(numbers)
                webhooks = [
                    status_webhook(server.phone_number_id, first + j) for j in range(len(numbers))
                ]
                figures["webhook"].append(await load(server, "/webhooks/whatsapp", webhooks, {}))
    for phase, cpus in figures.items():
        each = ", ".join(f"{cpu:.3f}" for cpu in cpus)
        median = statistics.median(cpus)
        print(f"{phase:10s} (serve --no-worker) server CPU {median:.3f} ms/request ({each})")


async def lifecycle(kind: str, numbers: list[str]) -> None:
    async with serve(kind, worker=True, env=ENV) as server:
        bodies = [text_request(server.app_id, n) for n in numbers]
        headers = {"key": server.key, "content-type": "application/json"}
        began, wall = server.cpu(), time.monotonic()
        await load(server, "/resources/v1/messaging", bodies, headers)
        deadline = time.monotonic() + 300
        while await count_read(server.db) < len(bodies):
            if time.monotonic() > deadline:
                raise RuntimeError("not every message was read within 300 s")
            await asyncio.sleep(0.2)
        cpu = 1000 * (server.cpu() - began) / len(bodies)
        took = time.monotonic() - wall
        print(f"lifecycle  (serve, to read)    server CPU {cpu:.3f} ms/message ({took:.1f} s)")


async def idle_phase(kind: str, idle: float) -> None:
    async with serve(kind, worker=True, env={"WANODE_LOG_LEVEL": "warning"}) as server:
        await asyncio.sleep(5)  # start-up work (template sync) done
        began = server.cpu()
        await asyncio.sleep(idle)
        share = 100 * (server.cpu() - began) / idle
        print(f"idle       (serve, {idle:.0f} s)       server CPU {share:.2f}% of a core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds; 0 skips the phase")
    parser.add_argument("--rounds", type=int, default=1, help="of each API phase (median shown)")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}"
    )
    args = parser.parse_args()
    print(f"wanode from {Path(wanode.__file__).parent}")
    asyncio.run(run(args.db, args.requests, args.idle, set(args.phases.split(",")), args.rounds))


if __name__ == "__main__":
    main()
