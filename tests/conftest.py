"""Shared fixtures: a database on SQLite *and* PostgreSQL for every test that asks for one."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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


class _Templates:
    """A migrated database made once per test process and copied for each test that asks for
    one: migrating from nothing (Alembic, SQLite's batch table rebuilds) costs 0.1-0.4 s, and
    the suite makes close to a thousand databases. SQLite: the template file is copied.
    PostgreSQL: the statements one real migration ran, recorded, are run again in the new
    schema in one transaction. Either way `Database.migrate` then runs on the copy as it would
    on any database, finding it at head (the migrations' own tests migrate from nothing)."""

    def __init__(self) -> None:
        self._sqlite: Path | None = None
        self._postgresql: list[tuple[str, Any]] | None = None

    async def sqlite(self) -> Path:
        if self._sqlite is None:
            folder = Path(tempfile.mkdtemp(prefix="wanode-template-"))
            atexit.register(shutil.rmtree, folder, True)
            db = Database(f"sqlite+aiosqlite:///{folder}/wanode.db")
            await db.migrate()
            await db.dispose()
            self._sqlite = folder / "wanode.db"
        return self._sqlite

    async def postgresql(self) -> list[tuple[str, Any]]:
        if self._postgresql is None:
            statements: list[tuple[str, Any]] = []

            def record(
                _conn: object, _cursor: object, statement: str, parameters: Any, *_rest: object
            ) -> None:
                # Reads (Alembic's inspection, the migration lock, the keyring's check) are not
                # replayed; everything that writes is, in order.
                if not statement.lstrip().upper().startswith(("SELECT", "SHOW")):
                    statements.append((statement, parameters))

            db, name = await _new_schema()
            try:
                sa.event.listen(db.engine.sync_engine, "before_cursor_execute", record)
                await db.migrate()
            finally:
                await db.dispose()
                await drop_schema(name)
            self._postgresql = statements
        return self._postgresql


_TEMPLATES = _Templates()


async def _new_schema() -> tuple[Database, str]:
    """A new, empty PostgreSQL schema of its own, and a `Database` on it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    await admin.dispose()
    return Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": name}}), name


async def make_database(backend: str, tmp_path: object) -> tuple[Database, str, str | None]:
    """A fresh, migrated database: an SQLite file, or a PostgreSQL schema of its own."""
    if backend == "sqlite":
        path = Path(str(tmp_path)) / "wanode.db"
        shutil.copy(await _TEMPLATES.sqlite(), path)
        url = f"sqlite+aiosqlite:///{path}"
        db = Database(url)
        await db.migrate()
        return db, url, None
    statements = await _TEMPLATES.postgresql()
    db, schema = await _new_schema()
    async with db.engine.begin() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        script: list[str] = []
        for statement, parameters in [*statements, ("", None)]:
            if parameters or not statement:
                # The statements with no parameters go together, in one round trip.
                if script:
                    await driver.execute(";\n".join(script))
                script = []
                if parameters:
                    await driver.execute(statement, *parameters)
            else:
                script.append(statement)
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
