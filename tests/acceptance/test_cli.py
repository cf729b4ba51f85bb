"""The CLI commands a user runs by hand, run as subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from wanode.store import Database
from wanode.store import apps as app_queries

WANODE = str(Path(sys.executable).with_name("wanode"))


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WANODE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "WANODE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/w.db", **env},
        check=False,
    )


def test_keys_apps_and_db_commands(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    created = run(tmp_path, "keys", "create", "--name", "ci")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("wk_")

    async def valid() -> bool:
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/w.db")
        try:
            async with db.begin() as conn:
                return await app_queries.key_is_valid(conn, key)
        finally:
            await db.dispose()

    assert asyncio.run(valid())

    secrets = {
        "WANODE_APP_ACCESS_TOKEN": "EAAG-secret-token",
        "WANODE_APP_SECRET": "app-secret-value",
        "WANODE_APP_VERIFY_TOKEN": "verify-me",
    }
    added = run(
        tmp_path,
        "apps",
        "add",
        "--phone-number-id",
        "1065403522",
        "--waba-id",
        "1022901293",
        **secrets,
    )
    assert added.returncode == 0, added.stderr
    listed = run(tmp_path, "apps", "list")
    apps = json.loads(listed.stdout)
    assert [a["phone_number_id"] for a in apps] == ["1065403522"]
    for output in (added.stdout + added.stderr, listed.stdout + listed.stderr):
        assert not any(value in output for value in secrets.values())

    bad = run(tmp_path, "apps", "add", "--phone-number-id", "x", "--waba-id", "1", **secrets)
    assert bad.returncode == 2 and "invalid app" in bad.stderr
    # A number registered twice: a clear error naming it, no traceback.
    again = run(
        tmp_path, "apps", "add", "--phone-number-id", "1065403522", "--waba-id", "1", **secrets
    )
    assert again.returncode == 2, again.stderr
    assert "phone_number_id 1065403522 is already registered" in again.stderr
    assert "Traceback" not in again.stderr
