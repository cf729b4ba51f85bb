"""The notifier against real loopback receivers: each message's DRs in order and in one pass,
a retry holding back only its own message, and a receiver that hangs holding back nobody else."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from tests.support.harness import fast_settings
from tests.support.receiver import hanging_server, receiver

from wanode.cli.bootstrap import ensure_defaults
from wanode.engine.courier import PER_KEY
from wanode.engine.notifier import DR_ID_HEADER, Notifier
from wanode.messages import Text, render_payload
from wanode.notify.client import NotifyClient
from wanode.store import Database, deliveries
from wanode.store import messages as outbox
from wanode.store._outbox import claim_sql
from wanode.store.tables import dr_deliveries

pytestmark = pytest.mark.asyncio

STATUSES = ["submitted", "delivered", "read"]


def _message(transid: str, app_id: str, url: str | None = None) -> dict[str, Any]:
    to = "4915112345678"
    return {
        "transid": transid,
        "app_id": app_id,
        "wa_id": to,
        "destination": to,
        "destination_type": "waid",
        "kind": "text",
        "payload": render_payload(Text("hi"), to),
        "notify_url": url,
    }


async def _queue(
    db: Database, transids: list[str], url: str, statuses: list[str] = STATUSES
) -> None:
    """Messages `transids`, each with a DR per status queued for `url`."""
    app = (await ensure_defaults(db, gateway="cloud")).app
    rows = [_message(t, app["id"], url) for t in transids]
    now = time.time()
    async with db.begin() as conn:
        await outbox.enqueue(conn, rows, at=now)
        await deliveries.enqueue_many(conn, _reports(transids, url, statuses), at=now)


def _reports(transids: list[str], url: str, statuses: list[str]) -> list[dict[str, Any]]:
    return [
        {"transid": t, "status": s, "url": url, "body": {"transid": t, "status": s}}
        for t in transids
        for s in statuses
    ]


@asynccontextmanager
async def notifier(db: Database, **overrides: Any) -> AsyncIterator[Notifier]:
    settings = fast_settings(db, **overrides)
    client = NotifyClient(timeout=settings.notify_timeout)
    try:
        yield Notifier(db, client, settings, clock=time.time)
    finally:
        await client.aclose()


async def _rows(db: Database) -> list[dict[str, Any]]:
    async with db.begin() as conn:
        result = await conn.execute(sa.select(dr_deliveries).order_by(dr_deliveries.c.id))
        return [dict(r) for r in result.mappings()]


async def test_a_messages_queued_drs_go_in_one_pass_in_order(db: Database) -> None:
    transids = [f"t{i}" for i in range(20)]
    async with receiver() as rx, notifier(db) as n:
        await _queue(db, transids, f"{rx.url}/dr")
        assert await n.run_once() == 60
        assert await n.run_once() == 0
    by_message: dict[str, list[str]] = {}
    for request in rx.requests:
        body = request.json()
        by_message.setdefault(body["transid"], []).append(body["status"])
        # One id per DR, the same on every attempt: receivers drop what they saw already.
        assert request.headers[DR_ID_HEADER.lower()] == f"{body['transid']}:{body['status']}"
    assert by_message == {t: STATUSES for t in transids}
    assert {r["state"] for r in await _rows(db)} == {deliveries.DELIVERED}
    assert {r["attempts"] for r in await _rows(db)} == {1}


async def test_a_retry_holds_back_its_own_message_only(db: Database) -> None:
    async with receiver() as rx, notifier(db, notify_retry_interval=3600) as n:
        rx.responses = [503]  # the first POST (t0's submitted) fails; every other one passes
        await _queue(db, ["t0", "t1"], f"{rx.url}/dr")
        assert await n.run_once() == 6
        rows = await _rows(db)
    t0 = [(r["status"], r["state"], r["attempts"]) for r in rows if r["transid"] == "t0"]
    # t0's later DRs were not tried: they wait, uncounted, behind the one to retry.
    assert t0 == [("submitted", "pending", 1), ("delivered", "pending", 0), ("read", "pending", 0)]
    assert all(r["lease_until"] is None for r in rows)
    assert [r["state"] for r in rows if r["transid"] == "t1"] == [deliveries.DELIVERED] * 3
    delivered = [(q.json()["transid"], q.json()["status"]) for q in rx.requests[1:]]
    assert delivered == [("t1", s) for s in STATUSES]


async def test_a_hanging_receiver_holds_back_no_other(db: Database) -> None:
    async with (
        receiver() as rx,
        hanging_server() as stuck_base,
        notifier(db, notify_timeout=3.0, notify_retry_interval=3600) as n,
    ):
        stuck = f"{stuck_base}/dr"
        # The hanging receiver's reports are queued first: they are claimed first.
        await _queue(db, [f"s{i}" for i in range(30)], stuck, ["submitted"])
        await _queue(db, [f"h{i}" for i in range(30)], f"{rx.url}/dr")
        assert await n.pump() == 120
        # The pass returned with the hanging receiver's posts still open; the healthy
        # receiver gets every DR of its messages meanwhile, in order.
        await rx.wait_for(90, timeout=2.5)
        pending = [r for r in await _rows(db) if r["url"] == stuck]
        assert {r["state"] for r in pending} == {"pending"}
        await n.drain()
    rows = await _rows(db)
    assert {r["state"] for r in rows if r["url"] != stuck} == {deliveries.DELIVERED}
    timed_out = [r for r in rows if r["url"] == stuck]
    # Its 16 connections timed out waiting for an answer; the rest waiting for a connection.
    assert {r["state"] for r in timed_out} == {"pending"}
    assert {r["last_error"] for r in timed_out} == {"ReadTimeout", "ConnectTimeout"}


async def test_no_other_worker_claims_a_dr_of_a_message_in_flight(db: Database) -> None:
    await _queue(db, ["t0", "t1"], "http://a/dr")
    await _queue(db, ["t2"], "http://b/dr")
    now = time.time()
    async with db.begin() as conn:
        first = await deliveries.claim(conn, at=now, lease_seconds=60, limit=1)
    assert [(r["transid"], r["status"]) for r in first] == [("t0", s) for s in STATUSES]
    async with db.begin() as conn:
        # Another worker: t0's DRs are leased; t1's and t2's are free, but URL a is full.
        second = await deliveries.claim(
            conn, at=now, lease_seconds=60, limit=10, skip_urls=["http://a/dr"]
        )
    assert [(r["transid"], r["status"]) for r in second] == [("t2", s) for s in STATUSES]


async def test_a_claim_takes_the_drs_due_first_and_reads_no_further(db: Database) -> None:
    now = time.time()
    # t0 queued first but to be retried later; t1 queued after, due now.
    await _queue(db, ["t0"], "http://a/dr", ["submitted"])
    await _queue(db, ["t1"], "http://a/dr", ["submitted"])
    async with db.begin() as conn:
        await conn.execute(
            dr_deliveries.update()
            .where(dr_deliveries.c.transid == "t0")
            .values(next_attempt_at=now + 30)
        )
        first = await deliveries.claim(conn, at=now + 1, lease_seconds=60, limit=1)
        later = await deliveries.claim(conn, at=now + 31, lease_seconds=60, limit=1)
    assert [r["transid"] for r in first] == ["t1"]
    assert [r["transid"] for r in later] == ["t0"]
    if db.is_sqlite:
        # The claim walks the (state, next_attempt_at) index in its order and stops at its
        # limit: no sort of every due row first.
        sql, _ = claim_sql(dr_deliveries, ("transid",), "url")
        async with db.begin() as conn:
            plan = " / ".join(
                str(row[3])
                for row in await conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {sql.sqlite}", (1.0, 1.0, 10, "[]")
                )
            )
        assert "ix_dr_deliveries_pending (state=? AND next_attempt_at<?)" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


async def test_a_pass_records_each_drs_own_outcome(db: Database) -> None:
    """DR outcomes are written one statement per outcome: each row still gets its own."""
    async with receiver() as rx:
        await _queue(db, ["t0", "t1", "t2"], f"{rx.url}/dr", statuses=["submitted"])
    now = time.time()
    async with db.begin() as conn:
        claimed = await deliveries.claim(conn, at=now, lease_seconds=60, limit=10)
        ids = {dr["transid"]: dr["id"] for dr in claimed}
        await deliveries.finish_many(
            conn,
            [
                deliveries.Finished(ids["t0"], deliveries.DELIVERED, 200, None),
                deliveries.Finished(ids["t1"], deliveries.GIVEN_UP, 400, "HTTP 400"),
            ],
            at=now,
        )
        await deliveries.retry_many(conn, [deliveries.Retry(ids["t2"], now + 30, 503, "HTTP 503")])
    rows = {r["transid"]: r for r in await _rows(db)}
    assert [
        (
            rows[t]["state"],
            rows[t]["last_status_code"],
            rows[t]["last_error"],
            rows[t]["lease_until"],
        )
        for t in ("t0", "t1", "t2")
    ] == [
        (deliveries.DELIVERED, 200, None, None),
        (deliveries.GIVEN_UP, 400, "HTTP 400", None),
        ("pending", 503, "HTTP 503", None),
    ]
    assert rows["t0"]["finished_at"] == rows["t1"]["finished_at"] == now
    assert rows["t2"]["finished_at"] is None
    assert rows["t2"]["next_attempt_at"] == now + 30


async def test_no_claim_runs_while_only_a_full_urls_drs_are_new(db: Database) -> None:
    """A claim skips a full URL's DRs but reads past them: under a campaign to one URL, nearly
    the whole outbox. So while that URL stays full and every DR queued since is for it, the
    notifier runs no claim; a DR for another URL, announced once its transaction commits,
    brings one at once, and one nobody announced (another process's) waits at most
    `poll_interval`."""
    now = [time.time() + 60]  # the notifier's clock: every DR queued below is due by it
    settings = fast_settings(db, notify_timeout=10.0, notify_retry_interval=3600, poll_interval=5)
    client = NotifyClient(timeout=settings.notify_timeout)
    async with receiver() as rx, hanging_server() as stuck_base:
        n = Notifier(db, client, settings, clock=lambda: now[0])
        stuck = f"{stuck_base}/dr"
        try:
            await _queue(db, [f"s{i}" for i in range(PER_KEY)], stuck, ["submitted"])
            assert await n.pump() == PER_KEY  # now full: PER_KEY posts hang on their way
            await _queue(db, ["s-late-1"], stuck, ["submitted"])
            commits = db.commits
            assert await n.pump() == 0  # a claim that finds nothing but the full URL's DR
            assert db.commits == commits + 1
            await _queue(db, ["s-late-2"], stuck, ["submitted"])
            commits = db.commits
            assert await n.pump() == 0
            assert db.commits == commits  # no claim at all
            # Another URL's DR, queued and announced: claimed by the next pass.
            await _queue(db, ["h0"], f"{rx.url}/dr")
            assert await n.pump() == 3
            await rx.wait_for(3)
            # One queued where no hint is heard (as by another process): it waits for the
            # poll interval to pass, then is claimed.
            app_id = (await ensure_defaults(db, gateway="cloud")).app["id"]
            async with db.begin() as conn:
                await outbox.enqueue(conn, [_message("h1", app_id)], at=now[0])
                await conn.execute(
                    dr_deliveries.insert().values(
                        transid="h1",
                        status="submitted",
                        url=f"{rx.url}/dr",
                        body={"transid": "h1"},
                        state="pending",
                        attempts=0,
                        next_attempt_at=now[0],
                        created_at=now[0],
                    )
                )
            commits = db.commits
            assert await n.pump() == 0
            assert db.commits == commits
            now[0] += settings.poll_interval
            assert await n.pump() == 1
            await rx.wait_for(4)
            # The hanging URL's late DRs were never claimed: it is full still.
            states = {r["transid"]: r["state"] for r in await _rows(db)}
            assert (states["s-late-1"], states["s-late-2"]) == ("pending", "pending")
        finally:
            await client.aclose()
