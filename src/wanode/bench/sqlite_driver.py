"""CPU per `Database.begin()` transaction on SQLite: aiosqlite (a thread per connection) against
the inline driver (stdlib sqlite3 on the loop thread), in the same run.

    .venv/bin/python -m wanode.bench.sqlite_driver [--rounds 5] [--scale 1.0]

Three transactions: (a) one small INSERT, (b) a 100-row executemany INSERT, (c) a SELECT of
100 rows. For each: CPU µs per transaction over all the process's threads (time.process_time,
cross-checked with getrusage), CPU µs on the loop thread alone (time.thread_time), wall µs and
context switches per transaction (a thread hand-off shows up as one). Drivers alternate round
by round; the median round is printed. Raw sqlite3 with no SQLAlchemy is the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from wanode.store.db import Database, SqliteDriver

METADATA = sa.MetaData()
ITEMS = sa.Table(
    "bench_item",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("batch", sa.Integer, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("body", sa.String, nullable=False),
)
BODY = "x" * 120
DRIVERS: tuple[SqliteDriver, ...] = ("aiosqlite", "inline")


@dataclass
class Sample:
    all_threads_us: float
    rusage_us: float
    loop_thread_us: float
    wall_us: float
    switches: float


async def measure(run: Callable[[int], Awaitable[None]], n: int) -> Sample:
    for i in range(min(n // 10, 100)):  # warm caches, the pool and SQLAlchemy's compiled cache
        await run(i)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    p0, t0, w0 = time.process_time(), time.thread_time(), time.perf_counter()
    for i in range(n):
        await run(i)
    p1, t1, w1 = time.process_time(), time.thread_time(), time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    ru = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    switches = (r1.ru_nvcsw + r1.ru_nivcsw) - (r0.ru_nvcsw + r0.ru_nivcsw)
    return Sample(
        all_threads_us=(p1 - p0) / n * 1e6,
        rusage_us=ru / n * 1e6,
        loop_thread_us=(t1 - t0) / n * 1e6,
        wall_us=(w1 - w0) / n * 1e6,
        switches=switches / n,
    )


def workloads(db: Database, counter: list[int]) -> dict[str, Callable[[int], Awaitable[None]]]:
    async def insert_one(i: int) -> None:
        async with db.begin() as conn:
            await conn.execute(ITEMS.insert().values(batch=-1, name=f"n{i}", body=BODY))

    async def insert_many(i: int) -> None:
        counter[0] += 1
        rows = [{"batch": counter[0], "name": f"n{j}", "body": BODY} for j in range(100)]
        async with db.begin() as conn:
            await conn.execute(ITEMS.insert(), rows)

    select = sa.select(ITEMS).where(ITEMS.c.batch == sa.bindparam("batch")).limit(100)

    async def select_100(i: int) -> None:
        async with db.begin() as conn:
            rows = (await conn.execute(select, {"batch": 0})).all()
        assert len(rows) == 100

    return {
        "(a) one INSERT": insert_one,
        "(b) executemany 100 rows": insert_many,
        "(c) SELECT 100 rows": select_100,
    }


async def setup(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}", sqlite_driver="aiosqlite")
    async with db.begin() as conn:
        await conn.run_sync(METADATA.create_all)
        await conn.execute(
            ITEMS.insert(), [{"batch": 0, "name": f"s{j}", "body": BODY} for j in range(100)]
        )
    await db.dispose()


def raw_floor(path: Path, n: int) -> dict[str, float]:
    """The same three transactions with sqlite3 alone: what no layer above it can beat."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    insert = "INSERT INTO bench_item (batch, name, body) VALUES (?, ?, ?)"
    out: dict[str, float] = {}
    p0 = time.process_time()
    for i in range(n):
        with conn:
            conn.execute(insert, (-1, f"n{i}", BODY))
    out["(a) one INSERT"] = (time.process_time() - p0) / n * 1e6
    p0 = time.process_time()
    for _ in range(n // 4):
        with conn:
            conn.executemany(insert, [(-2, f"n{j}", BODY) for j in range(100)])
    out["(b) executemany 100 rows"] = (time.process_time() - p0) / (n // 4) * 1e6
    p0 = time.process_time()
    for _ in range(n):
        with conn:
            rows = conn.execute(
                "SELECT id, batch, name, body FROM bench_item WHERE batch = ? LIMIT 100", (0,)
            ).fetchall()
        assert len(rows) == 100
    out["(c) SELECT 100 rows"] = (time.process_time() - p0) / n * 1e6
    conn.close()
    return out


async def main(rounds: int, scale: float) -> None:
    counts = {
        "(a) one INSERT": int(2000 * scale),
        "(b) executemany 100 rows": int(500 * scale),
        "(c) SELECT 100 rows": int(2000 * scale),
    }
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "bench.db"
        await setup(path)
        databases = {d: Database(f"sqlite+aiosqlite:///{path}", sqlite_driver=d) for d in DRIVERS}
        counter = [0]
        samples: dict[tuple[str, str], list[Sample]] = {}
        for _ in range(rounds):
            for driver in DRIVERS:
                for name, run in workloads(databases[driver], counter).items():
                    sample = await measure(run, counts[name])
                    samples.setdefault((name, driver), []).append(sample)
        for db in databases.values():
            await db.dispose()
        floor = raw_floor(path, counts["(a) one INSERT"])

    print(f"CPU per Database.begin() transaction, median of {rounds} rounds")
    header = (
        f"{'transaction':26} {'driver':10} {'all thr µs':>10} {'rusage µs':>10}"
        f" {'loop thr µs':>11} {'wall µs':>8} {'ctx sw':>7}"
    )
    print(header)
    print("-" * len(header))
    medians: dict[tuple[str, str], Sample] = {}
    for name in counts:
        for driver in DRIVERS:
            runs = samples[(name, driver)]
            m = Sample(
                *(
                    statistics.median(getattr(s, f) for s in runs)
                    for f in Sample.__dataclass_fields__
                )
            )
            medians[(name, driver)] = m
            print(
                f"{name:26} {driver:10} {m.all_threads_us:10.1f} {m.rusage_us:10.1f}"
                f" {m.loop_thread_us:11.1f} {m.wall_us:8.1f} {m.switches:7.2f}"
            )
        print(f"{name:26} {'sqlite3':10} {floor[name]:10.1f}   (raw floor, no SQLAlchemy)")
    print()
    print("aiosqlite / inline (higher is better for inline)")
    for name in counts:
        old, new = medians[(name, "aiosqlite")], medians[(name, "inline")]
        print(
            f"{name:26} all threads {old.all_threads_us / new.all_threads_us:5.2f}x"
            f"   wall {old.wall_us / new.wall_us:5.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply transaction counts")
    options = parser.parse_args()
    asyncio.run(main(options.rounds, options.scale))
