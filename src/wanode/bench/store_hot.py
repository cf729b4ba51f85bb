"""CPU per message of the store's hot statements, stage by stage, on a real database.

A message's life as the store sees it, in batches: accepted (`enqueue_all`), claimed
(`messages.claim`), its send begun (`mark_sending`), accepted by the gateway (`record_many`,
which queues its DR), two status webhooks stored (`statuses.store_many`) and applied (the
status processor: `ready`, `record_many`, contacts, `bsuids.link`, `remove`), and its DRs
claimed and finished (`deliveries.claim`, `finish_many`). Each stage is one transaction per
batch, timed with `time.process_time`.

    python -m wanode.bench.store_hot --database sqlite --batch 200 --rounds 10
    python -m wanode.bench.store_hot --compare /tmp/before/src   # before vs after, alternately

`--compare TREE` runs this file in child processes, alternately with `PYTHONPATH=TREE` (before)
and with this tree (after), and prints each stage's CPU per message and the after/before
ratio. The file runs as a script too, so it measures whichever `wanode` is on the path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

POSTGRES_URL = os.environ.get(
    "WANODE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
STAGES = (
    "enqueue",
    "claim",
    "mark_sending",
    "accepted",
    "store_statuses",
    "process",
    "dr_claim",
    "dr_finish",
)


async def _database(backend: str, workdir: str) -> tuple[Any, str | None]:
    import sqlalchemy as sa

    from wanode.store import Database

    if backend == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{workdir}/hot.db")
        await db.migrate()
        return db, None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    db = Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    await db.migrate()
    return db, schema


async def _drop(schema: str) -> None:
    import sqlalchemy as sa

    from wanode.store import Database

    admin = Database(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await admin.dispose()


async def measure(backend: str, batch: int, rounds: int) -> dict[str, float]:
    """CPU µs per message of each stage, the median over `rounds` batches (after a warm-up)."""
    from wanode.cli.bootstrap import ensure_defaults
    from wanode.config import Settings
    from wanode.engine.processor import StatusProcessor
    from wanode.engine.reports import Recording, record_many
    from wanode.messages import Text, render_payload
    from wanode.store import deliveries
    from wanode.store import messages as outbox
    from wanode.store import statuses as inbox

    with tempfile.TemporaryDirectory() as workdir:
        db, schema = await _database(backend, workdir)
        try:
            app = (await ensure_defaults(db, gateway="sandbox")).app
            clock = [1_000_000.0]
            processor = StatusProcessor(db, Settings(), clock=lambda: clock[0], batch=500)
            samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
            spent: dict[str, float] = {}

            async def timed(stage: str, work: Any) -> Any:
                start = time.process_time()
                async with db.begin() as conn:
                    result = await work(conn)
                spent[stage] = spent.get(stage, 0.0) + time.process_time() - start
                return result

            for round_ in range(rounds + 1):
                spent.clear()
                clock[0] += 10.0
                at = clock[0]
                rows = []
                for i in range(batch):
                    wa_id = f"49151{round_:04d}{i:05d}"
                    rows.append(
                        {
                            "transid": str(uuid.uuid4()),
                            "app_id": app["id"],
                            "wa_id": wa_id,
                            "destination": wa_id,
                            "destination_type": "waid",
                            "kind": "text",
                            "payload": render_payload(Text(f"hello {i}"), wa_id),
                            "correlationid": f"c{i}",
                            "callback_data": None,
                            "notify_url": "http://127.0.0.1:9/dr",
                            "notify_auth_id": None,
                            "identity_key_hash": None,
                            "expires_at": None,
                            "template_id": None,
                            "template_category": None,
                        }
                    )
                await timed("enqueue", lambda c, r=rows, a=at: outbox.enqueue_all(c, [(r, a)]))
                claimed = await timed(
                    "claim",
                    lambda c, a=at: outbox.claim(c, at=a, lease_seconds=30.0, limit=batch),
                )
                assert len(claimed) == batch, len(claimed)
                await timed(
                    "mark_sending",
                    lambda c, m=claimed, a=at: outbox.mark_sending(
                        c, [(x["transid"], x["lease_until"]) for x in m], at=a, lease_seconds=30.0
                    ),
                )
                recordings = [
                    Recording(m, "submitted", at, wamid=f"wamid.{m['transid']}") for m in claimed
                ]
                await timed(
                    "accepted",
                    lambda c, r=recordings, a=at: record_many(c, r, now=a, source="gateway"),
                )
                statuses = [
                    {
                        "phone_number_id": app["phone_number_id"],
                        "wamid": f"wamid.{m['transid']}",
                        "status": status,
                        "occurred_at": at + offset,
                        "recipient_id": m["wa_id"],
                        "identity_key_hash": None,
                        "error_code": None,
                        "error_title": None,
                        "error_details": None,
                        "received_at": at + offset,
                        "recipient_user_id": f"US.{m['wa_id']}",
                    }
                    for status, offset in (("delivered", 1.0), ("read", 2.0))
                    for m in claimed
                ]
                await timed("store_statuses", lambda c, s=statuses: inbox.store_many(c, s))
                clock[0] += 3.0
                start = time.process_time()
                while await processor.run_once():
                    pass
                spent["process"] = time.process_time() - start
                drs: list[dict[str, Any]] = []
                while True:
                    got = await timed(
                        "dr_claim",
                        lambda c, a=clock[0]: deliveries.claim(
                            c, at=a, lease_seconds=30.0, limit=batch
                        ),
                    )
                    if not got:
                        break
                    drs.extend(got)
                    finished = [deliveries.Finished(d["id"], "delivered", 200, None) for d in got]
                    await timed(
                        "dr_finish",
                        lambda c, f=finished, a=clock[0]: deliveries.finish_many(c, f, at=a),
                    )
                assert len(drs) == 3 * batch, len(drs)
                if round_:  # the first round warms the caches up
                    for stage in STAGES:
                        samples[stage].append(spent[stage] / batch * 1e6)
        finally:
            await db.dispose()
            if schema:
                await _drop(schema)
    result = {stage: statistics.median(values) for stage, values in samples.items()}
    result["total"] = sum(result.values())
    return result


def _run_child(tree: str | None, backend: str, batch: int, rounds: int) -> dict[str, float]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = tree
    else:
        env.pop("PYTHONPATH", None)
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--database",
            backend,
            "--batch",
            str(batch),
            "--rounds",
            str(rounds),
            "--json",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def compare(before: str, backend: str, batch: int, rounds: int, pairs: int) -> None:
    after_tree = str(Path(__file__).resolve().parents[2])
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(pairs):
        runs["before"].append(_run_child(before, backend, batch, rounds))
        runs["after"].append(_run_child(after_tree, backend, batch, rounds))
    print(f"{backend}, batches of {batch}, {pairs} alternating pairs (CPU µs per message)")
    print(f"{'stage':16} {'before':>9} {'after':>9} {'ratio':>7}")
    for stage in (*STAGES, "total"):
        b = statistics.median(r[stage] for r in runs["before"])
        a = statistics.median(r[stage] for r in runs["after"])
        print(f"{stage:16} {b:9.1f} {a:9.1f} {a / b:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="one JSON line, for --compare")
    parser.add_argument("--compare", metavar="TREE", help="src/ of the tree to compare with")
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.database, args.batch, args.rounds, args.pairs)
        return
    result = asyncio.run(measure(args.database, args.batch, args.rounds))
    if args.json:
        print(json.dumps(result))
        return
    for stage, value in result.items():
        print(f"{stage:16} {value:8.1f} µs/message")


if __name__ == "__main__":
    main()
