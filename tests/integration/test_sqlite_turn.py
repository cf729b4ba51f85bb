"""On SQLite a process runs one transaction at a time; a request's (`urgent`) goes before the
engine's transactions already waiting, so a campaign's backlog does not hold up the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from wanode.store.db import Database

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("driver", ["inline", "aiosqlite"])
async def test_an_urgent_transaction_goes_before_the_waiting_ones(
    tmp_path: Path, driver: str
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/turn.db", sqlite_driver=driver)  # type: ignore[arg-type]
    try:
        async with db.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
        held, release = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with db.begin() as conn:
                held.set()
                await release.wait()
                await conn.execute(sa.text("INSERT INTO t (who) VALUES ('holder')"))

        async def write(who: str, *, urgent: bool = False) -> None:
            async with db.begin(urgent=urgent) as conn:
                await conn.execute(sa.text("INSERT INTO t (who) VALUES (:who)"), {"who": who})

        first = asyncio.create_task(holder())
        await held.wait()
        engine = [asyncio.create_task(write(f"engine-{i}")) for i in range(3)]
        await asyncio.sleep(0.01)
        api = asyncio.create_task(write("api", urgent=True))
        await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(first, *engine, api)
        async with db.begin() as conn:
            order = [
                row.who for row in await conn.execute(sa.text("SELECT who FROM t ORDER BY id"))
            ]
        assert order == ["holder", "api", "engine-0", "engine-1", "engine-2"]
    finally:
        await db.dispose()
