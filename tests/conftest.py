"""Shared fixtures: a database on SQLite *and* PostgreSQL for every test that asks for one."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from wanode.store import Database

# The sandbox takes Meta's limits by default: 80 messages a second per number, the pair limit,
# the per-user marketing limit. Tests send faster than that and message the same customers
# again and again, so every sandbox the suite starts lifts them: in process (through
# `Settings`) and in the `wanode serve` / `wanode sandbox` processes, which inherit this
# environment. The tests of the limits set them again.
os.environ.setdefault("WANODE_SANDBOX_THROUGHPUT_MPS", "0")
os.environ.setdefault("WANODE_SANDBOX_PAIR_LIMIT", "false")
os.environ.setdefault("WANODE_SANDBOX_MARKETING_LIMIT", "0")

POSTGRES_URL = os.environ.get(
    "WANODE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _postgres_reachable() -> str | None:
    async def probe() -> None:
        db = Database(POSTGRES_URL)
        try:
            async with db.begin() as conn:
                await conn.execute(sa.text("SELECT 1"))
        finally:
            await db.dispose()

    # Session fixtures may be set up inside a running event loop: probe from a thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            pool.submit(asyncio.run, probe()).result(timeout=30)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """PostgreSQL tests never skip: an unreachable server fails them, in CI and locally."""
    problem = _postgres_reachable()
    if problem:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({problem}). Start it (see the README)"
            " or point WANODE_TEST_POSTGRES_URL at one.",
            pytrace=False,
        )


async def make_database(backend: str, tmp_path: object) -> tuple[Database, str, str | None]:
    """A fresh, migrated database: an SQLite file, or a PostgreSQL schema of its own."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/wanode.db"
        db = Database(url)
        await db.migrate()
        return db, url, None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    db = Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    await db.migrate()
    return db, POSTGRES_URL, schema


async def drop_schema(schema: str) -> None:
    admin = Database(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await admin.dispose()


@contextlib.asynccontextmanager
async def fresh_database(backend: str, tmp_path: object) -> AsyncIterator[Database]:
    """`make_database`'s database, disposed of (and its PostgreSQL schema dropped) after."""
    database, _url, schema = await make_database(backend, tmp_path)
    try:
        yield database
    finally:
        await database.dispose()
        if schema:
            await drop_schema(schema)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    if request.param == "postgresql":
        request.getfixturevalue("postgres_available")
    async with fresh_database(request.param, tmp_path) as database:
        yield database
