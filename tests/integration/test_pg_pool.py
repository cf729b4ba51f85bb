"""The PostgreSQL pool: no ping for a connection used a moment ago, dead connections replaced.

Every test names its pool's connections (`application_name`) to find them in
`pg_stat_activity` and kill them with `pg_terminate_backend`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from tests.conftest import POSTGRES_URL

from wanode.store import Database

pytestmark = pytest.mark.usefixtures("postgres_available")


def _count_pings(db: Database) -> list[int]:
    """Counts the dialect's pings (the pool listener calls `dialect.do_ping`)."""
    dialect = db.engine.dialect
    real: Callable[[Any], bool] = dialect.do_ping
    pings = [0]

    def do_ping(dbapi_connection: Any) -> bool:
        pings[0] += 1
        return real(dbapi_connection)

    dialect.do_ping = do_ping  # type: ignore[method-assign]
    return pings


@contextlib.asynccontextmanager
async def _admin() -> AsyncIterator[AsyncConnection]:
    """A transaction on a pool of its own, apart from the one a test watches."""
    admin = Database(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            yield conn
    finally:
        await admin.dispose()


async def _backends(name: str) -> list[int]:
    async with _admin() as conn:
        rows = await conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
            {"n": name},
        )
        return sorted(row[0] for row in rows)


async def _kill(name: str) -> int:
    async with _admin() as conn:
        killed = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM ("
                " SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = :n) AS k"
            ),
            {"n": name},
        )
    # pg_terminate_backend only signals: wait until the backends are gone.
    for _ in range(200):
        if not await _backends(name):
            break
        await asyncio.sleep(0.02)
    return int(killed or 0)


def _kill_blocking(name: str) -> int:
    """`_kill` from another thread, the caller's event loop blocked meanwhile: that loop reads
    nothing from the killed connections' sockets, so their driver still thinks them open."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _kill(name)).result(timeout=30)


async def _hold(db: Database, count: int) -> list[int]:
    """`count` transactions open at once: the pool opens `count` connections. Their pids."""
    release, all_in = asyncio.Event(), asyncio.Event()
    pids: list[int] = []

    async def one() -> None:
        async with db.begin() as conn:
            pids.append(int(await conn.scalar(sa.text("SELECT pg_backend_pid()")) or 0))
            if len(pids) == count:
                all_in.set()
            await release.wait()

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    await all_in.wait()
    release.set()
    await asyncio.gather(*tasks)
    return pids


async def _pid(db: Database) -> int:
    async with db.begin() as conn:
        return int(await conn.scalar(sa.text("SELECT pg_backend_pid()")) or 0)


@pytest.fixture
def name() -> str:
    return f"wanode-pool-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def cleanup() -> AsyncIterator[list[Database]]:
    databases: list[Database] = []
    yield databases
    for db in databases:
        await db.dispose()


@pytest.fixture
def pool(name: str, cleanup: list[Database]) -> Callable[..., Database]:
    """Opens a `Database` (its keyword arguments given) whose connections are named `name`,
    disposed of after the test."""

    def open_(**kwargs: Any) -> Database:
        db = Database(
            POSTGRES_URL, connect_args={"server_settings": {"application_name": name}}, **kwargs
        )
        cleanup.append(db)
        return db

    return open_


async def test_a_connection_reused_within_the_threshold_is_not_pinged(
    pool: Callable[..., Database],
) -> None:
    db = pool(ping_idle_after=60.0)
    pings = _count_pings(db)
    pids = {await _pid(db) for _ in range(20)}
    assert len(pids) == 1  # the same connection, reused
    assert pings[0] == 0


async def test_a_connection_idle_past_the_threshold_is_pinged(
    pool: Callable[..., Database],
) -> None:
    db = pool(ping_idle_after=0.0)
    pings = _count_pings(db)
    for _ in range(5):
        await _pid(db)
    # The first checkout opened the connection (a new one is not pinged); the others pinged.
    assert pings[0] == 4


async def test_killed_connections_idle_past_the_threshold_are_replaced_after_a_ping(
    name: str, pool: Callable[..., Database]
) -> None:
    db = pool(ping_idle_after=0.2)
    pings = _count_pings(db)
    old = set(await _hold(db, 3))
    assert set(await _backends(name)) == old
    assert _kill_blocking(name) == 3
    # Idle past the threshold, the loop still blocked (an asyncio.sleep would let it read).
    time.sleep(0.3)  # noqa: ASYNC251
    pid = await _pid(db)
    assert pid not in old
    assert pings[0] >= 1
    # The failed ping discarded the pool's older connections: nothing old is handed out.
    for _ in range(5):
        assert await _pid(db) not in old
    assert set(await _backends(name)).isdisjoint(old)


async def test_connections_the_driver_saw_closed_are_replaced_without_a_ping(
    name: str, pool: Callable[..., Database]
) -> None:
    db = pool(ping_idle_after=60.0)
    pings = _count_pings(db)
    old = set(await _hold(db, 3))
    assert await _kill(name) == 3
    await asyncio.sleep(0.1)  # the loop reads the servers' goodbyes
    for _ in range(5):
        assert await _pid(db) not in old
    assert pings[0] == 0


async def test_a_connection_killed_mid_transaction_fails_it_clearly_and_the_next_works(
    name: str, pool: Callable[..., Database]
) -> None:
    db = pool(ping_idle_after=60.0)
    with pytest.raises(sa.exc.DBAPIError) as caught:
        async with db.begin() as conn:
            pid = int(await conn.scalar(sa.text("SELECT pg_backend_pid()")) or 0)
            assert await _kill(name) == 1
            await conn.execute(sa.text("SELECT 1"))
    assert caught.value.connection_invalidated
    new = await _pid(db)
    assert new != pid
    async with db.begin() as conn:
        assert await conn.scalar(sa.text("SELECT 41 + 1")) == 42


async def test_connections_opened_at_a_peak_are_kept_open(
    name: str, pool: Callable[..., Database]
) -> None:
    db = pool(pool_size=4)
    opened = set(await _hold(db, 7))
    assert len(opened) == 7
    # Back in the pool, none closed: the next peak reuses them instead of connecting again.
    assert set(await _backends(name)) == opened
    assert set(await _hold(db, 7)) == opened


async def test_the_pool_opens_at_most_twice_pool_size(
    name: str, pool: Callable[..., Database]
) -> None:
    db = pool(pool_size=2)
    release, four_in = asyncio.Event(), asyncio.Event()
    inside = [0]

    async def one() -> None:
        async with db.begin() as conn:
            await conn.execute(sa.text("SELECT 1"))
            inside[0] += 1
            if inside[0] == 4:
                four_in.set()
            await release.wait()

    tasks = [asyncio.create_task(one()) for _ in range(6)]
    await four_in.wait()
    await asyncio.sleep(0.1)  # time enough for a fifth to get in, were it let
    assert inside[0] == 4  # two wait for a connection
    assert len(await _backends(name)) == 4
    release.set()
    await asyncio.gather(*tasks)
    assert inside[0] == 6


async def _server_ssl() -> bool:
    async with _admin() as conn:
        return bool(await conn.scalar(sa.text("SHOW ssl")) == "on")


async def _connection_ssl(db: Database) -> bool:
    async with db.begin() as conn:
        return bool(
            await conn.scalar(sa.text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
        )


async def test_libpq_sslmode_in_the_url_is_honoured(cleanup: list[Database]) -> None:
    plain = Database(f"{POSTGRES_URL}?sslmode=disable")
    required = Database(f"{POSTGRES_URL}?sslmode=require")
    cleanup += [plain, required]
    assert plain.url.query == {"ssl": "disable"}
    assert await _connection_ssl(plain) is False
    if await _server_ssl():
        assert await _connection_ssl(required) is True
    else:
        # Never weakened to a plain connection: a server without TLS is refused.
        with pytest.raises(ConnectionError, match="SSL"):
            await _connection_ssl(required)
