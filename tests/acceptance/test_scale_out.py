"""Scale-out: 2 API processes and 3 `wanode worker` processes over one PostgreSQL schema and one
Redis, sending 4,000 messages to a `wanode sandbox` process over HTTP.

Every message must reach the sandbox exactly once (its receive log), none may be lost (every
row at least `sent`), and the per-number rate must hold across the three workers, measured on
the sandbox's side: it refuses none with 130429, and the most sends in any 1-second window of
its receive log, counted over 5-second windows, stay within 5% of the rate (arrival times bunch
by tens of milliseconds on a loaded machine).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from tests.acceptance.test_serve import WANODE, text_request
from tests.acceptance.test_worker import wait_for_line
from tests.conftest import POSTGRES_URL, drop_schema, make_database
from tests.support.receiver import free_port

from wanode.engine.dispatcher import NUMBER_BURST
from wanode.store import Database

pytestmark = [pytest.mark.acceptance, pytest.mark.asyncio]

REDIS_URL = os.environ.get("WANODE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MESSAGES = 4_000
CUSTOMERS = 1_000  # 4 messages each: under the pair burst of 45, so only the number rate binds
NUMBER_MPS = 200
# How far over the rate the sandbox's arrival stamps may bunch in one second (see the end of
# the test).
# Arrival stamps bunch on a loaded machine (see the end of the test): over 5 s that is a few
# per cent of the sends; within one second, fresh-clone CI runs peaked at up to 223 for 200/s.
WINDOW = 5.0
ARRIVAL_SLACK = 1.05
WORKERS = 3
SENT = ("sent", "delivered", "read")


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    probe = aioredis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:
        await probe.aclose()
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({type(exc).__name__}: {exc}). Start it "
            "(see the README) or point WANODE_TEST_REDIS_URL at one.",
            pytrace=False,
        )
    try:
        yield REDIS_URL
    finally:
        await probe.aclose()


@pytest.fixture
async def schema(postgres_available: None, tmp_path: Path) -> AsyncIterator[str]:
    db, _url, name = await make_database("postgresql", tmp_path)
    await db.dispose()
    assert name is not None
    try:
        yield name
    finally:
        await drop_schema(name)


@contextmanager
def started(
    tmp_path: Path, name: str, args: list[str], env: dict[str, str], ready: str
) -> Iterator[subprocess.Popen[str]]:
    """A wanode process, once its output shows `ready`; SIGTERM (then SIGKILL) at the end."""
    log_path = tmp_path / f"{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [WANODE, *args], stdout=log, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path
        )
    try:
        wait_for_line(log_path, process, ready)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run(tmp_path: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [WANODE, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def max_in_window(times: list[float], width: float) -> int:
    """The most entries in any window [t, t + width) of the sorted `times`."""
    best = start = 0
    for end, at in enumerate(times):
        while times[start] <= at - width:
            start += 1
        best = max(best, end - start + 1)
    return best


async def statuses(db: Database) -> Counter[str]:
    async with db.begin() as conn:
        rows = await conn.execute(sa.text("SELECT status, count(*) FROM messages GROUP BY status"))
        return Counter({status: count for status, count in rows})


async def test_two_apis_three_workers_send_4000_once_each_within_the_rate(
    tmp_path: Path, schema: str, redis_url: str
) -> None:
    phone_number_id = "1" + "".join(secrets.choice("0123456789") for _ in range(14))
    token, app_secret = secrets.token_urlsafe(24), secrets.token_hex(16)
    sandbox_port, api_ports = free_port(), [free_port(), free_port()]
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = {
        **os.environ,
        "WANODE_DATABASE_URL": POSTGRES_URL,
        "WANODE_DATABASE_SCHEMA": schema,
        # Five processes: 5 x (6 + 6) connections at most, well under PostgreSQL's 100.
        "WANODE_DATABASE_POOL_SIZE": "6",
        "WANODE_REDIS_URL": redis_url,
        "WANODE_PACING_NUMBER_MPS": str(NUMBER_MPS),
        # The sandbox refuses what Meta would (130429 past the number's rate, its bucket
        # holding a second's worth): a send it refused leaves its code on the message.
        "WANODE_SANDBOX_THROUGHPUT_MPS": str(NUMBER_MPS),
        "WANODE_POLICY_WINDOW": "false",
        "WANODE_SANDBOX_ENFORCE_WINDOW": "false",
        # Each message reports `sent`; `delivered` and `read` would come long after the test.
        "WANODE_SANDBOX_SENT_DELAY": "0.05",
        "WANODE_SANDBOX_DELIVERED_DELAY": "3600",
        "WANODE_SANDBOX_READ_DELAY": "3600",
        # Updates waiting for the webhook URL go together, as Meta may batch them.
        "WANODE_SANDBOX_WEBHOOK_BATCH": "500",
        # Redis wakes idle workers when there is work: they need not poll often.
        "WANODE_POLL_INTERVAL": "1",
        "WANODE_LOG_LEVEL": "warning",
        # The standalone sandbox is on loopback: the app's graph_base_url must be allowed.
        "WANODE_ALLOW_PRIVATE_URLS": "true",
        "WANODE_APP_ACCESS_TOKEN": token,
        "WANODE_APP_SECRET": app_secret,
        "WANODE_APP_VERIFY_TOKEN": "verify",
        "WANODE_SANDBOX_ACCESS_TOKEN": token,
        "WANODE_SANDBOX_APP_SECRET": app_secret,
    }
    app = run(
        tmp_path,
        env,
        "apps",
        "add",
        "--phone-number-id",
        phone_number_id,
        "--waba-id",
        "2" + phone_number_id[1:],
        "--gateway",
        "sandbox",
        "--graph-base-url",
        sandbox_url,
    )
    app_id = json.loads(app)["id"]
    key = run(tmp_path, env, "keys", "create").strip().splitlines()[-1]
    customers = [f"4915{i:09d}" for i in range(CUSTOMERS)]
    db = Database(POSTGRES_URL, schema=schema)
    pacing = aioredis.from_url(redis_url)
    try:
        with ExitStack() as stack:
            stack.enter_context(
                started(
                    tmp_path,
                    "sandbox",
                    [
                        "sandbox",
                        "--port",
                        str(sandbox_port),
                        "--phone-number-id",
                        phone_number_id,
                        "--waba-id",
                        "2" + phone_number_id[1:],
                        "--webhook-url",
                        f"http://127.0.0.1:{api_ports[0]}/webhooks/whatsapp",
                    ],
                    env,
                    "sandbox listening",
                )
            )
            for port in api_ports:
                stack.enter_context(
                    started(
                        tmp_path,
                        f"api-{port}",
                        ["serve", "--no-worker", "--no-sandbox", "--port", str(port)],
                        env,
                        "wanode listening",
                    )
                )
                await healthy(f"http://127.0.0.1:{port}")
            for index in range(WORKERS):
                stack.enter_context(
                    started(tmp_path, f"worker-{index}", ["worker"], env, "wanode worker running")
                )

            began = time.monotonic()
            answers = await asyncio.gather(
                *(
                    submit(api_ports[n % 2], key, text_request(app_id, customers, f"scale {n}"))
                    for n in range(MESSAGES // CUSTOMERS)
                )
            )
            accepted = [item for answer in answers for item in answer]
            assert len(accepted) == MESSAGES
            assert all(item["code"] == "1001" for item in accepted)

            deadline = time.monotonic() + 900
            submitted = time.monotonic() - began
            while True:
                counts = await statuses(db)
                if sum(counts[s] for s in SENT) == MESSAGES:
                    break
                assert time.monotonic() < deadline, f"not all sent in time: {dict(counts)}"
                await asyncio.sleep(0.5)
            elapsed = time.monotonic() - began

            async with httpx.AsyncClient(base_url=sandbox_url, timeout=60) as sandbox:
                response = await sandbox.get("/log", params={"phone_number_id": phone_number_id})
            log: list[dict[str, Any]] = response.json()
        async with db.begin() as conn:
            query = sa.text("SELECT transid, status, wamid, error_code FROM messages")
            rows = (await conn.execute(query)).all()
    finally:
        await db.dispose()
        keys = [k async for k in pacing.scan_iter(match=f"wanode:pacing:{{{phone_number_id}}}*")]
        if keys:
            await pacing.delete(*keys)
        await pacing.aclose()

    # Nothing lost: every accepted message has its row, and every row was sent.
    assert {row.transid for row in rows} == {item["transid"] for item in accepted}
    assert Counter(row.status in SENT for row in rows) == {True: MESSAGES}
    # Exactly once: the sandbox accepted 4,000 sends, each message (customer and text) once,
    # and they are the very sends the rows recorded.
    assert len(log) == MESSAGES
    assert len({(entry["to"], entry["text"]) for entry in log}) == MESSAGES
    assert {entry["wamid"] for entry in log} == {row.wamid for row in rows}
    # The number's rate held across the workers: the sandbox refused none of them...
    assert not [row for row in rows if row.error_code == 130429]
    # ...and the sandbox saw no more than the rate arrive. The dispatcher sends each message
    # within LATE_AT_MOST of its reserved slot (test_dispatch_pacing.py checks that at the
    # sender). The sandbox stamps a send when its handler runs, after the connection pool,
    # loopback and its own event loop: on 2 cores shared by 6 processes that trip varies and
    # bunches sends by tens of milliseconds, so arrivals are counted over 5-second windows
    # (one-second peaks of 198 to 223 were seen at 200/s). A limiter that let each of the
    # three workers spend the whole rate would show several times the rate in either.
    times = sorted(entry["received_at"] for entry in log)
    busiest = max_in_window(times, WINDOW)
    allowed = math.floor(NUMBER_MPS * WINDOW * ARRIVAL_SLACK) + NUMBER_BURST
    print(
        f"\nscale-out: {MESSAGES} messages accepted in {submitted:.1f} s, sent in {elapsed:.1f} s "
        f"({MESSAGES / elapsed:.0f} msg/s); busiest {WINDOW:g} s at the sandbox: {busiest} sends "
        f"(at most {allowed}); busiest second: {max_in_window(times, 1.0)} "
        f"(limit {NUMBER_MPS}/s)"
    )
    assert busiest <= allowed


async def healthy(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(300):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never became healthy")


async def submit(port: int, key: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"key": key}, timeout=60
    ) as client:
        response = await client.post("/resources/v1/messaging", json=body)
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()["response"]
    return answer
