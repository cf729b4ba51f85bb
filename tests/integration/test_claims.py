"""The dispatcher's claims (`store.messages.claim`): leases that ran out first, then the due
messages that no claim holds, in the order they are due, each through a partial index of its
own (migration 0015)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from tests.support.graph import queue_text
from tests.support.harness import running

from wanode.store import Database, _outbox, _raw, deliveries
from wanode.store import messages as outbox
from wanode.store.tables import dr_deliveries, messages

pytestmark = pytest.mark.asyncio

LEASE = 60.0


async def test_a_claim_takes_lapsed_leases_first_then_the_due_in_order_never_a_held_one(
    db: Database,
) -> None:
    async with running(db, start_engine=False) as wn:
        queued = [await queue_text(wn, wn.app_id) for _ in range(5)]
        at = time.time() + 1

        async def claim(when: float, limit: int) -> set[str]:
            async with db.begin() as conn:
                claimed = await outbox.claim(conn, at=when, lease_seconds=LEASE, limit=limit)
            return {message["transid"] for message in claimed}

        assert await claim(at, 2) == set(queued[:2])
        assert await claim(at + 1, 2) == set(queued[2:4])  # the first two are held
        # Their leases run out (not the next two's, taken a second later): those two first.
        assert await claim(at + LEASE + 0.5, 2) == set(queued[:2])
        assert await claim(at + LEASE + 0.5, 5) == {queued[4]}
        assert await claim(at + LEASE + 0.5, 5) == set()
        # All run out: the earliest leases first.
        assert await claim(at + 2 * LEASE + 2, 2) == set(queued[2:4])
        assert await claim(at + 2 * LEASE + 2, 5) == {*queued[:2], queued[4]}


@pytest.mark.parametrize(
    ("sql", "index"), [(outbox._DUE, "ix_messages_due"), (outbox._LAPSED, "ix_messages_leased")]
)
async def test_each_claim_statement_searches_its_partial_index(
    db: Database, sql: _raw.Sql, index: str
) -> None:
    """Its conditions are those of the index's predicate, which the planner must see to use
    it (the sequential scan is switched off on PostgreSQL: a table this small would be read
    whole)."""
    async with db.begin() as conn:
        if db.is_sqlite:
            rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql.sqlite}", (time.time(), 10))
            plan = " ".join(str(row[-1]) for row in rows)
        else:
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            text = sql.postgresql.replace("$1", "1e9::float8").replace("$2", "10")
            plan = " ".join(str(row[0]) for row in await conn.exec_driver_sql(f"EXPLAIN {text}"))
    assert index in plan, plan


async def test_marking_sends_finds_its_rows_by_transid(db: Database) -> None:
    """`mark_sending` finds its rows by transid, never through the claims' partial indexes: the
    rows of a claim share one lease, and found through `ix_messages_leased` each would walk the
    whole claim's entries (PostgreSQL's planner took it while the index's statistics were
    young, as they are here: gathered before any lease was taken)."""
    async with running(db, start_engine=False) as wn:
        first = await queue_text(wn, wn.app_id)
        async with db.begin() as conn:  # 999 more like it
            await conn.execute(_copies(1000), {"first": first})
            await conn.exec_driver_sql("ANALYZE messages")
        async with db.begin() as conn:
            claimed = await outbox.claim(conn, at=time.time() + 1, lease_seconds=LEASE, limit=300)
        assert len(claimed) == 300
        async with db.begin() as conn:
            if db.is_sqlite:
                text = _raw.sqlite_values(
                    outbox._MARK_SENDING_HEAD, 2, 5, outbox._MARK_SENDING_TAIL
                )
                params = [1.0, 2.0, _raw.json_list([m["transid"] for m in claimed[:5]])]
                params += [v for m in claimed[:5] for v in (m["transid"], m["lease_until"])]
                rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {text}", tuple(params))
                plan = " ".join(str(row[-1]) for row in rows)
            else:
                transids = "{" + ",".join(m["transid"] for m in claimed[:5]) + "}"
                leases = "{" + ",".join(repr(m["lease_until"]) for m in claimed[:5]) + "}"
                text = (
                    outbox._MARK_SENDING_PG.postgresql.replace("$1", "1::float8")
                    .replace("$2", "2::float8")
                    .replace("$3", f"'{transids}'")
                    .replace("$4", f"'{leases}'")
                )
                rows = await conn.exec_driver_sql(f"EXPLAIN {text}")
                plan = " ".join(str(row[0]) for row in rows)
    assert "ix_messages_leased" not in plan and "ix_messages_due" not in plan, plan


async def test_the_dr_claim_finds_earlier_and_later_drs_by_transid(db: Database) -> None:
    """The DR claim passes over a DR whose message has an earlier one pending; that probe is
    an index lookup by the candidate's transid, whatever the statistics say, and so is the
    lookup of the claimed messages' later DRs. (PostgreSQL's planner, with statistics
    gathered while few DRs were pending, made the probe a join that read every pending DR for
    each candidate, 540,000 rows for 300 messages' DRs, and found the later DRs among all the
    pending ones.)"""
    async with running(db, start_engine=False) as wn:
        first = await queue_text(wn, wn.app_id)
        async with db.begin() as conn:
            await conn.execute(_copies(1000), {"first": first})
            await conn.execute(
                sa.text(
                    "INSERT INTO dr_deliveries (transid, status, url, body, state, attempts,"
                    " next_attempt_at, created_at) SELECT transid, 'sent', 'http://x', '{}',"
                    " CASE WHEN transid < 'm11' THEN 'pending' ELSE 'done' END, 0, 1, 1"
                    " FROM messages"
                )
            )
            await conn.exec_driver_sql("ANALYZE")
            # A campaign's DRs since: three pending for each of 300 messages.
            await conn.execute(
                sa.text(
                    "INSERT INTO dr_deliveries (transid, status, url, body, state, attempts,"
                    " next_attempt_at, created_at) SELECT transid, dr_status, 'http://x', '{}',"
                    " 'pending', 0, 1, 1 FROM messages, (SELECT 'sent' AS dr_status UNION ALL"
                    " SELECT 'delivered' UNION ALL SELECT 'read') statuses"
                    " WHERE transid >= 'm5' AND transid < 'm8'"
                )
            )
        sql, _ = _outbox.claim_sql(dr_deliveries, ("transid",), None)
        async with db.begin() as conn:
            if db.is_sqlite:
                rows = await conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {sql.sqlite}", (1e10, time.time(), 100)
                )
                plan = " ".join(str(row[-1]) for row in rows)
                assert "CORRELATED" in plan and "ix_dr_deliveries_pending_thread (transid=?" in plan
            else:
                text = sql.postgresql.replace("$1", "1e10::float8").replace("$2", "1e10::float8")
                rows = await conn.exec_driver_sql(f"EXPLAIN ANALYZE {text.replace('$3', '100')}")
                plan = "\n".join(str(row[0]) for row in rows)
                # (The candidates are found by state and time: only the probe has a transid.)
                assert "Index Cond: ((transid)::text = " in plan, plan
                assert "Rows Removed by Join Filter" not in plan, plan
                # The claim is one statement, which also takes the claimed messages' later DRs:
                # those, likewise, found by their transids.
                merged = (
                    deliveries._with_followers(False)
                    .postgresql.replace("$1", "1e10::float8")
                    .replace("$2", "1e10::float8")
                    .replace("$3", "100")
                )
                rows = await conn.exec_driver_sql(f"EXPLAIN ANALYZE {merged}")
                plan = "\n".join(str(row[0]) for row in rows)
                heads, found, followers = plan.partition("CTE followers")
                assert found and "Index Cond: ((transid)::text = " in heads, plan
                assert "ix_dr_deliveries_pending" not in followers, plan  # not among pending DRs
                assert "Index Cond: ((transid)::text = ANY (" in followers, plan
                assert "Rows Removed by Join Filter" not in plan, plan


def _copies(count: int) -> sa.TextClause:
    """An INSERT of `count` - 1 copies of the message `:first`, their transids 'm1', 'm2', ..."""
    names = ", ".join(c.name for c in messages.c if c.name != "transid")
    return sa.text(
        "WITH RECURSIVE numbers(n) AS"
        f" (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < {count - 1})"
        f" INSERT INTO messages (transid, {names})"
        f" SELECT 'm' || n, {names} FROM messages, numbers WHERE transid = :first"
    )
