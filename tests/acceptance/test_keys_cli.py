"""`wanode keys create/list/revoke` and `wanode contacts import --app`, run as subprocesses."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.acceptance.test_cli import run

from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import contacts as contact_queries

SECRETS = {
    "WANODE_APP_ACCESS_TOKEN": "EAAG-secret-token",
    "WANODE_APP_SECRET": "app-secret-value",
    "WANODE_APP_VERIFY_TOKEN": "verify-me",
}


def in_database(tmp_path: Path, work: Any) -> Any:
    async def go() -> Any:
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/w.db")
        try:
            async with db.begin() as conn:
                return await work(conn)
        finally:
            await db.dispose()

    return asyncio.run(go())


def add_app(tmp_path: Path, phone_number_id: str) -> str:
    added = run(
        tmp_path, "apps", "add", "--phone-number-id", phone_number_id, "--waba-id", "1", **SECRETS
    )
    assert added.returncode == 0, added.stderr
    return str(json.loads(added.stdout)["id"])


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    app_id = add_app(tmp_path, "1065403522")
    # Without --app or --admin: an admin key, as before keys had apps.
    plain = run(tmp_path, "keys", "create", "--name", "ops")
    assert plain.returncode == 0, plain.stderr
    assert "admin" in plain.stderr
    admin = run(tmp_path, "keys", "create", "--admin", "--name", "root")
    assert admin.returncode == 0, admin.stderr
    scoped = run(tmp_path, "keys", "create", "--app", app_id, "--name", "shop")
    assert scoped.returncode == 0, scoped.stderr
    keys = [r.stdout.strip().splitlines()[-1] for r in (plain, admin, scoped)]
    assert all(key.startswith("wk_") for key in keys)

    found = [in_database(tmp_path, lambda c, k=key: app_queries.find_key(c, k)) for key in keys]
    assert [(f["app_id"], f["admin"]) for f in found] == [
        (None, True),
        (None, True),
        (app_id, False),
    ]

    nowhere = run(tmp_path, "keys", "create", "--app", "a_404")
    assert nowhere.returncode == 2 and "no app a_404" in nowhere.stderr
    both = run(tmp_path, "keys", "create", "--app", app_id, "--admin")
    assert both.returncode == 2

    listed = run(tmp_path, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["app_id"], r["admin"]) for r in rows] == [
        ("ops", None, True),
        ("root", None, True),
        ("shop", app_id, False),
    ]
    table = run(tmp_path, "keys", "list")
    for output in (listed.stdout, table.stdout):
        assert not any(key in output for key in keys)
    assert "shop" in table.stdout

    shop = rows[2]["id"]
    revoked = run(tmp_path, "keys", "revoke", shop)
    assert revoked.returncode == 0 and f"revoked {shop}" in revoked.stdout
    assert not in_database(tmp_path, lambda c: app_queries.key_is_valid(c, keys[2]))
    assert in_database(tmp_path, lambda c: app_queries.key_is_valid(c, keys[0]))
    again = run(tmp_path, "keys", "revoke", shop)
    assert again.returncode == 0 and "already revoked" in again.stdout
    [row] = [
        r for r in json.loads(run(tmp_path, "keys", "list", "--json").stdout) if r["id"] == shop
    ]
    assert row["revoked_at"] is not None
    unknown = run(tmp_path, "keys", "revoke", "k_nope")
    assert unknown.returncode == 2 and "no API key k_nope" in unknown.stderr


def test_contacts_import_for_an_app(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    first = add_app(tmp_path, "1065403522")
    second = add_app(tmp_path, "1065403523")
    (tmp_path / "a.csv").write_text("customerid,waid\nc-1,+4915112345678\nc-2,+447911123456\n")
    imported = run(tmp_path, "contacts", "import", "a.csv", "--app", first)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    # Another app's import may not take over those profiles, by customer id or by number.
    (tmp_path / "b.csv").write_text("customerid,waid\nc-1,+14155552671\nc-9,+447911123456\n")
    clash = run(tmp_path, "contacts", "import", "b.csv", "--app", second)
    assert clash.returncode == 1
    assert "another app" in clash.stdout
    rows = in_database(tmp_path, lambda c: contact_queries.list_profiles(c, limit=10, app_id=first))
    assert [(r["customer_id"], r["wa_id"]) for r in rows] == [
        ("c-1", "4915112345678"),
        ("c-2", "447911123456"),
    ]
    assert (
        in_database(tmp_path, lambda c: contact_queries.list_profiles(c, limit=10, app_id=second))
        == []
    )
    nowhere = run(tmp_path, "contacts", "import", "a.csv", "--app", "a_404")
    assert nowhere.returncode == 2 and "no app a_404" in nowhere.stderr
