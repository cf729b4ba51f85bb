"""What one pass of the flow loop costs the database, and the lookup a WhatsApp trigger makes
for each inbound event: counted (transactions, the index a query searches), not timed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from tests.support.harness import running

from wanode.store import Database
from wanode.store import flows as flow_store
from wanode.store.tables import flow_runs

pytestmark = pytest.mark.asyncio

FLOW = {
    "id": "passes",
    "nodes": {
        "n1": {"type": "start", "on": {"onStart": "n2"}},
        "n2": {"type": "receive", "timeout": 3600, "on": {"whatsapp.mo": "n3"}},
        "n3": {"type": "end"},
    },
}
CONTACTS = ["4915112340101", "4915112340102", "4915112340103"]


@contextmanager
def commits(db: Database) -> Iterator[list[int]]:
    """Counts the transactions committed on `db` meanwhile (one item per COMMIT)."""
    seen: list[int] = []
    before = db.commits
    try:
        yield seen
    finally:
        seen.extend([1] * (db.commits - before))


async def test_an_idle_pass_takes_one_transaction(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        deployed = await wn.client.post("/v1/flows", json=FLOW)
        assert deployed.status_code == 201, deployed.text
        runner = wn.ctx.engine.flows
        assert await runner.run_once() == 0
        with commits(db) as seen:
            assert await runner.run_once() == 0
        # The inbox's claim finds nothing, and the message changes, deadlines and HTTP requests
        # are looked for in its transaction (it was five: the inbox claimed until it found
        # nothing, then one transaction per kind).
        assert len(seen) == 1


async def test_one_pass_resumes_every_reply_in_the_inbox(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        deployed = await wn.client.post("/v1/flows", json=FLOW)
        assert deployed.status_code == 201, deployed.text
        runs = {}
        for contact in CONTACTS:
            started = await wn.client.post("/v1/flows/passes/runs", json={"waid": contact})
            assert started.status_code == 201, started.text
            assert started.json()["status"] == "waiting"
            runs[contact] = started.json()["id"]
        now = time.time()
        async with db.begin() as conn:
            for contact in CONTACTS:
                await _reply(conn, wn.app_id, contact, now)
        runner = wn.ctx.engine.flows
        with commits(db) as seen:
            assert await runner.run_once() == len(CONTACTS)
        # All three in the inbox's one transaction (a claim that takes fewer than a batch
        # does not claim again), which also found no message change, deadline or HTTP request
        # to claim: no second transaction.
        assert len(seen) == 1
        async with db.begin() as conn:
            for contact in CONTACTS:
                run = await flow_store.get_run(conn, runs[contact])
                assert run is not None and run["status"] == "completed", run
                outcomes = [h["outcome"] for h in await flow_store.history(conn, run["id"])]
                assert "whatsapp.mo" in outcomes, outcomes
            left = await conn.execute(sa.text("SELECT count(*) FROM flow_inbox"))
            assert left.scalar_one() == 0


async def test_a_pass_with_replies_claims_what_else_is_due_in_a_second_transaction(
    db: Database,
) -> None:
    async with running(db, start_engine=False) as wn:
        deployed = await wn.client.post("/v1/flows", json=FLOW)
        assert deployed.status_code == 201, deployed.text
        runs = {}
        for contact in CONTACTS[:2]:
            started = await wn.client.post("/v1/flows/passes/runs", json={"waid": contact})
            assert started.status_code == 201, started.text
            runs[contact] = started.json()["id"]
        replier, late = CONTACTS[0], CONTACTS[1]
        async with db.begin() as conn:
            # The second run's wait has timed out; the first one's contact replies.
            run = await flow_store.get_run(conn, runs[late])
            assert run is not None
            state = {**run["state"], "wait": {**run["state"]["wait"], "deadline": 1.0}}
            await flow_store.save_run(conn, runs[late], state, now=time.time())
            await _reply(conn, wn.app_id, replier, time.time())
        runner = wn.ctx.engine.flows
        with commits(db) as seen:
            assert await runner.run_once() == 2
        # The reply in the inbox's transaction, which saw a deadline passed; the timeout in a
        # transaction of its own.
        assert len(seen) == 2
        async with db.begin() as conn:
            replied = await flow_store.history(conn, runs[replier])
            timed_out = await flow_store.history(conn, runs[late])
        assert "whatsapp.mo" in [h["outcome"] for h in replied]
        assert [h["outcome"] for h in timed_out][-1] != "onStart", timed_out
        async with db.begin() as conn:
            moved = await flow_store.get_run(conn, runs[late])
        assert moved is not None and moved["status"] != "waiting", moved


async def test_taken_events_come_back_when_the_transaction_rolls_back(db: Database) -> None:
    async with db.begin() as conn:
        for n in range(3):
            await flow_store.add_event(
                conn,
                app_id="app",
                wa_id=CONTACTS[n],
                wamid=f"wamid.take{n}",
                event={"event": "MO", "message": f"m{n}"},
                now=1000.0 + n,
            )

    class Failed(Exception):
        pass

    with pytest.raises(Failed):
        async with db.begin() as conn:
            taken = await flow_store.take_events(conn, limit=2)
            assert [e["wamid"] for e in taken] == ["wamid.take0", "wamid.take1"]
            assert taken[0]["event"] == {"event": "MO", "message": "m0"}
            assert taken[0]["received_at"] == 1000.0
            raise Failed
    async with db.begin() as conn:
        taken = await flow_store.take_events(conn, limit=50)
    # Back in the inbox, in their order; committed, the take removed them.
    assert [e["wamid"] for e in taken] == ["wamid.take0", "wamid.take1", "wamid.take2"]
    async with db.begin() as conn:
        assert await flow_store.take_events(conn, limit=50) == []


async def _reply(conn: Any, app_id: str, contact: str, now: float) -> None:
    """`contact` answers "yes": an MO event in the flow inbox."""
    await flow_store.add_event(
        conn,
        app_id=app_id,
        wa_id=contact,
        wamid=f"wamid.{uuid.uuid4().hex}",
        event={"event": "MO", "message": "yes", "waid": contact},
        now=now,
    )


async def _plan(conn: Any, query: sa.Select[Any]) -> str:
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    if conn.dialect.name == "sqlite":
        rows = await conn.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))
        return "\n".join(str(row[3]) for row in rows)
    # A small table: the planner would read it whole whatever the indexes; the question is
    # whether an index can answer with the contact in its condition.
    await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
    rows = await conn.execute(sa.text(f"EXPLAIN {compiled}"))
    return "\n".join(str(row[0]) for row in rows)


async def test_has_waiting_run_searches_the_contact_in_the_index(db: Database) -> None:
    now = time.time()
    waiting = {"status": "waiting", "node": "n2", "wait": {"kind": "inbound"}}
    async with db.begin() as conn:
        await flow_store.insert_runs(
            conn,
            flow_id="f",
            version=1,
            app_id="a_idx",
            runs=[(str(uuid.uuid4()), {**waiting, "contact": f"49151{i:08d}"}) for i in range(300)],
            now=now,
        )
        await flow_store.insert_runs(
            conn,
            flow_id="f",
            version=1,
            app_id="a_idx",
            runs=[(str(uuid.uuid4()), {"status": "completed", "node": "n3", "contact": "done"})],
            now=now,
        )
        assert await flow_store.has_waiting_run(conn, "f", "4915100000007")
        assert not await flow_store.has_waiting_run(conn, "f", "4915199999999")
        assert not await flow_store.has_waiting_run(conn, "other", "4915100000007")
        assert not await flow_store.has_waiting_run(conn, "f", "done")
        query = sa.select(flow_runs.c.id).where(
            flow_runs.c.flow_id == "f",
            flow_runs.c.contact == "4915100000007",
            flow_runs.c.status == "waiting",
        )
        plan = await _plan(conn, query.limit(1))
    assert "ix_flow_runs_flow_contact" in plan, plan
    if db.is_sqlite:
        assert "contact=?" in plan, plan
    else:
        assert "contact" in plan.split("Index Cond", 1)[1], plan
