"""The app's shutdown closes the in-process sandbox, which writes its state as it closes, even
when the engine's stop before it fails: what the handset did must reach the state file, or a
restart forgets it (its open 24-hour window with it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from tests.support.harness import fast_settings

from wanode.cli.bootstrap import build_service, ensure_defaults, provision_all
from wanode.store import Database

pytestmark = pytest.mark.asyncio


def _rows(state: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(state) as db:
        return set(db.execute("SELECT kind, key FROM items"))


async def test_the_sandbox_writes_its_state_when_the_engines_stop_fails(
    db: Database, tmp_path: Path
) -> None:
    state = tmp_path / "sandbox.db"
    settings = fast_settings(db)
    app, ctx = build_service(settings, db, sandbox_state=str(state))
    assert ctx.sandbox is not None and ctx.sandbox.persistence is not None
    ctx.sandbox.persistence._every = 3600  # no write behind: only the close writes
    first = await ensure_defaults(db, gateway="sandbox")
    await provision_all(db, ctx.sandbox, settings)

    stop = ctx.engine.stop

    async def broken() -> None:
        await stop()  # the loops end; then the stop fails
        raise RuntimeError("the engine would not stop")

    with pytest.raises(RuntimeError, match="would not stop"):
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://wanode"
            ) as client:
                wrote = await client.post(
                    "/sandbox/handsets/4915112345678/send",
                    json={"phone_number_id": first.app["phone_number_id"], "text": "Hi"},
                    headers={"key": first.new_key or ""},
                )
                assert wrote.status_code == 201, wrote.text
                wamid = wrote.json()["id"]
            assert ("sent", wamid) not in _rows(state)
            ctx.engine.stop = broken  # type: ignore[method-assign]
    assert ("sent", wamid) in _rows(state)
