"""The migrations build exactly the schema `wanode.store.tables` describes, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from wanode.store import Database
from wanode.store.db import MIGRATIONS
from wanode.store.tables import metadata

pytestmark = pytest.mark.asyncio


def _head() -> str | None:
    """The last migration, so this test needs no edit when one is added."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def _differences(sync_conn: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_tables(db: Database) -> None:
    async with db.begin() as conn:
        differences = await conn.run_sync(_differences)
    assert differences == []


async def test_migrating_twice_changes_nothing(db: Database) -> None:
    await db.migrate()
    async with db.begin() as conn:
        version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == _head()
