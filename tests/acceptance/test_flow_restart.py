"""Durable runs: 1,000 runs wait in a Receive node, `wanode serve` is stopped (SIGTERM) and
started again on the same database, the 1,000 handsets reply, and every run completes once.

The sandbox lives in the serving process and forgets its handsets on a restart; the replies are
made through the new process's sandbox, which takes a message from any handset (as WhatsApp
does from any user), so they arrive as the signed webhooks a real restart would get.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.acceptance.test_serve import serve
from tests.conftest import POSTGRES_URL, drop_schema, make_database

from wanode.store import Database

pytestmark = [pytest.mark.acceptance, pytest.mark.asyncio]

RUNS = 1_000
BATCH = 50
FLOW = {
    "id": "echo",
    "nodes": {
        "n1": {"type": "start", "on": {"onStart": "n2"}},
        "n2": {"type": "receive", "timeout": 3600, "on": {"whatsapp.mo": "n3"}},
        "n3": {
            "type": "whatsapp",
            "destination": "$(whatsapp.waId)",
            "wa": {"type": "text", "text": {"body": "You said: $(n2.receive.message)"}},
            "on": {"onSuccess": "n4"},
        },
        "n4": {"type": "end"},
    },
}
HANDSETS = [f"4917300{i:06d}" for i in range(RUNS)]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The environment pointing `wanode serve` at a fresh database (SQLite: the default file)."""
    if request.param == "sqlite":
        yield {}
        return
    request.getfixturevalue("postgres_available")
    db, _url, schema = await make_database("postgresql", tmp_path)
    await db.dispose()
    assert schema is not None
    try:
        yield {"WANODE_DATABASE_URL": POSTGRES_URL, "WANODE_DATABASE_SCHEMA": schema}
    finally:
        await drop_schema(schema)


async def in_batches(calls: list[Callable[[], Awaitable[httpx.Response]]]) -> list[Any]:
    answers: list[Any] = []
    for start in range(0, len(calls), BATCH):
        done = await asyncio.gather(*(call() for call in calls[start : start + BATCH]))
        for response in done:
            assert response.status_code in (200, 201), response.text
            answers.append(response.json())
    return answers


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float) -> Any:
    """`check()` once it is truthy. The timeouts catch what never happens, not what is slow."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


async def test_waiting_runs_survive_a_restart(tmp_path: Path, database: dict[str, str]) -> None:
    # Pacing off: the 1,000 replies go out at once instead of at 80 a second. The handsets take
    # an hour to acknowledge a message, so no status webhooks compete with the replies, and the
    # sandbox batches waiting webhooks (up to 100 messages a POST), as Meta does.
    env = {
        "WANODE_PACING": "false",
        "WANODE_SANDBOX_WEBHOOK_BATCH": "100",
        "WANODE_SANDBOX_SENT_DELAY": "3600",
        "WANODE_SANDBOX_DELIVERED_DELAY": "3600",
        "WANODE_SANDBOX_READ_DELAY": "3600",
        **database,
    }
    with serve(tmp_path, env=env) as first:
        async with httpx.AsyncClient(
            base_url=first.url, headers={"key": first.key}, timeout=30
        ) as client:
            deployed = await client.post("/v1/flows", json=FLOW)
            assert deployed.status_code == 201, deployed.text
            runs = await in_batches(
                [
                    lambda waid=waid: client.post("/v1/flows/echo/runs", json={"waid": waid})
                    for waid in HANDSETS
                ]
            )
            assert {(r["status"], r["node"]) for r in runs} == {("waiting", "n2")}
            flow = (await client.get("/v1/flows/echo")).json()
            assert flow["runs"] == {"waiting": RUNS}
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=30) == 0

    with serve(tmp_path, key=first.key, env=env) as again:
        async with httpx.AsyncClient(
            base_url=again.url, headers={"key": again.key}, timeout=30
        ) as client:
            assert (await client.get("/v1/flows/echo")).json()["runs"] == {"waiting": RUNS}
            await in_batches(
                [
                    lambda waid=waid: client.post(
                        f"/sandbox/handsets/{waid}/send",
                        json={"phone_number_id": again.phone_number_id, "text": f"hi {waid}"},
                    )
                    for waid in HANDSETS
                ]
            )

            async def all_completed() -> bool:
                counts = (await client.get("/v1/flows/echo")).json()["runs"]
                return bool(counts == {"completed": RUNS})

            await until(all_completed, "every run to complete", timeout=240)

            async def all_sent() -> list[dict[str, Any]] | None:
                log = (await client.get("/sandbox/log")).json()
                return log if len(log) >= RUNS else None

            # Each reply reached WhatsApp once (the sandbox's receive log, this process's).
            log = await until(all_sent, "every reply to reach the sandbox", timeout=240)
            assert len(log) == RUNS
            assert Counter(entry["to"] for entry in log) == Counter(dict.fromkeys(HANDSETS, 1))
            assert all(entry["text"] == f"You said: hi {entry['to']}" for entry in log)

    db = Database(
        database.get("WANODE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/wanode.db"),
        schema=database.get("WANODE_DATABASE_SCHEMA"),
    )
    try:
        async with db.begin() as conn:
            steps = Counter(
                (row.node, row.outcome)
                for row in await conn.execute(sa.text("SELECT node, outcome FROM flow_history"))
            )
            per_run = await conn.execute(
                sa.text(
                    "SELECT r.id, r.status,"
                    " (SELECT count(*) FROM flow_history h WHERE h.run_id = r.id"
                    "   AND h.outcome = 'whatsapp.mo') AS received,"
                    " (SELECT count(*) FROM flow_sends s WHERE s.run_id = r.id) AS sends"
                    " FROM flow_runs r"
                )
            )
            rows = per_run.all()
            messages = (await conn.execute(sa.text("SELECT wa_id, payload FROM messages"))).all()
    finally:
        await db.dispose()
    assert len(rows) == RUNS
    assert {(row.status, row.received, row.sends) for row in rows} == {("completed", 1, 1)}
    assert steps == {
        ("n1", "onStart"): RUNS,
        ("n2", "whatsapp.mo"): RUNS,
        ("n3", "onSuccess"): RUNS,
        ("n4", "end"): RUNS,
    }
    # One reply queued per run, to its own handset, answering what that handset said.
    assert Counter(wa_id for wa_id, _body in messages) == Counter(dict.fromkeys(HANDSETS, 1))
    for wa_id, payload in messages:
        assert f"You said: hi {wa_id}" in str(payload)
