"""The suite's databases are copies of one migrated database (`tests.conftest._Templates`):
a copy must be what migrating from nothing makes, table for table, index for index."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import _new_schema, drop_schema, make_database

from wanode.store import Database

pytestmark = pytest.mark.asyncio

POSTGRES_CATALOG = """
SELECT 'column', table_name, column_name,
       data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = current_schema()
UNION ALL
SELECT 'index', tablename, indexname, regexp_replace(indexdef, ' ON [a-z0-9_]+\\.', ' ON ')
  FROM pg_indexes WHERE schemaname = current_schema()
UNION ALL
SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
UNION ALL
SELECT 'version', version_num, '', '' FROM alembic_version
UNION ALL
SELECT 'admin keys', id, '', admin::text FROM api_keys
ORDER BY 1, 2, 3
"""
SQLITE_CATALOG = """
SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master
UNION ALL SELECT 'version', version_num, '', '' FROM alembic_version
ORDER BY 1, 2
"""


async def _catalog(db: Database) -> list[tuple[object, ...]]:
    query = SQLITE_CATALOG if db.is_sqlite else POSTGRES_CATALOG
    async with db.begin() as conn:
        rows = [tuple(row) for row in (await conn.execute(sa.text(query))).all()]
    if db.is_sqlite:
        # Alembic's batch rebuilds write a table's constraints in an order that varies from one
        # process to the next (set order): compare each statement's lines as a set.
        return [(*row[:3], sorted(_line(line) for line in row[3].splitlines())) for row in rows]
    return rows


def _line(line: str) -> str:
    return line.strip().removesuffix(",").strip()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_copy_is_what_a_migration_from_nothing_makes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        migrated = Database(f"sqlite+aiosqlite:///{tmp_path}/migrated.db")
        name = None
    else:
        request.getfixturevalue("postgres_available")
        migrated, name = await _new_schema()
    try:
        await migrated.migrate()
        expected = await _catalog(migrated)
    finally:
        await migrated.dispose()
        if name:
            await drop_schema(name)
    (tmp_path / "copy").mkdir()
    copy, _url, schema = await make_database(backend, tmp_path / "copy")
    try:
        found = await _catalog(copy)
    finally:
        await copy.dispose()
        if schema:
            await drop_schema(schema)
    assert len(expected) > 40
    assert found == expected
