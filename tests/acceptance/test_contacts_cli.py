"""`wanode contacts import`, run as a user runs it: exit codes, the error report, idempotence."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from wanode.store import Database
from wanode.store import contacts as contact_queries

WANODE = str(Path(sys.executable).with_name("wanode"))

GOOD = (
    "customerid,waid,name,opt_in,opt_in_source,opt_in_at,tier\n"
    "c-1,+49 151 12345678,Ada,yes,web form,2024-05-01T09:30:00Z,gold\n"
    "c-2,447911123456,Bob,,,,\n"
)
MIXED = (
    GOOD
    + "c-3,not a number,Eve,maybe,,,\n"  # two errors in one row
    + "c-4,+4915112345678,,,,,\n"  # c-1's number
    + '"c-5","+1 415 555 2671","Lovelace, Ada",no,"STOP",,"[red]x[/red]"\n'
)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WANODE, "contacts", "import", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        # A wide terminal, so that the report's table does not fold the reasons.
        env={**os.environ, "WANODE_DATABASE_URL": _url(tmp_path), "COLUMNS": "200"},
        check=False,
    )


def _url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/w.db"


def profiles(tmp_path: Path) -> dict[str, dict[str, Any]]:
    async def read() -> dict[str, dict[str, Any]]:
        db = Database(_url(tmp_path))
        try:
            await db.migrate()
            async with db.begin() as conn:
                rows = await contact_queries.list_profiles(conn, limit=100)
        finally:
            await db.dispose()
        return {row["customer_id"]: row for row in rows}

    return asyncio.run(read())


def test_a_clean_file_imports_and_reimports_unchanged(tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    first = run(tmp_path, "good.csv")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "2 rows: 2 created, 0 updated, 0 unchanged, 0 failed" in first.stdout
    stored = profiles(tmp_path)
    assert stored["c-1"]["wa_id"] == "4915112345678"
    assert stored["c-1"]["opt_in_status"] == "opted_in"
    assert stored["c-1"]["attributes"] == {"tier": "gold"}
    assert stored["c-2"]["attributes"] == {}

    again = run(tmp_path, "good.csv")
    assert again.returncode == 0
    assert "2 rows: 0 created, 0 updated, 2 unchanged, 0 failed" in again.stdout
    assert profiles(tmp_path) == stored


def test_bad_rows_are_reported_and_good_ones_imported(tmp_path: Path) -> None:
    (tmp_path / "mixed.csv").write_text(MIXED, encoding="utf-8")
    result = run(tmp_path, "mixed.csv", "--errors", "errors.csv", "--batch-size", "2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "5 rows: 3 created, 0 updated, 0 unchanged, 2 failed" in result.stdout
    for text in ("Rows not imported", "c-3", "maybe", "+4915112345678 belongs to customer id"):
        assert text in result.stdout
    assert sorted(profiles(tmp_path)) == ["c-1", "c-2", "c-5"]
    assert profiles(tmp_path)["c-5"]["attributes"] == {"tier": "[red]x[/red]"}

    with (tmp_path / "errors.csv").open(newline="", encoding="utf-8") as stream:
        report = list(csv.DictReader(stream))
    assert [(r["row"], r["customerid"], r["field"]) for r in report] == [
        ("4", "c-3", "waid"),
        ("4", "c-3", "opt_in"),
        ("5", "c-4", "waid"),
    ]
    assert report[2]["reason"] == "+4915112345678 belongs to customer id 'c-1'"


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "mixed.csv").write_text(MIXED, encoding="utf-8")
    result = run(tmp_path, "mixed.csv", "--dry-run")
    assert result.returncode == 1
    assert "3 created" in result.stdout and "dry run: nothing was written" in result.stdout
    assert profiles(tmp_path) == {}


def test_require_e164(tmp_path: Path) -> None:
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    result = run(tmp_path, "good.csv", "--require-e164", "--errors", "errors.csv")
    assert result.returncode == 1
    report = (tmp_path / "errors.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[:3] for line in report[1:]] == [
        ["2", "c-1", "waid"],
        ["3", "c-2", "waid"],
    ]


def test_encodings(tmp_path: Path) -> None:
    text = "customerid,waid,name\nc-1,+4915112345678,Zoë\n"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "latin1.csv").write_bytes(text.encode("latin-1"))
    assert run(tmp_path, "bom.csv").returncode == 0
    refused = run(tmp_path, "latin1.csv")
    assert refused.returncode == 2
    assert "latin1.csv is not utf-8-sig text" in refused.stderr
    assert run(tmp_path, "latin1.csv", "--encoding", "latin-1").returncode == 0
    assert profiles(tmp_path)["c-1"]["profile_name"] == "Zoë"


def test_a_bad_file_is_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "nohead.csv").write_text("id,number\n1,+4915112345678\n", encoding="utf-8")
    result = run(tmp_path, "nohead.csv")
    assert result.returncode == 2
    assert "lacks the required column(s) customerid, waid" in result.stderr
    missing = run(tmp_path, "absent.csv")
    assert missing.returncode == 2 and "cannot read absent.csv" in missing.stderr
    assert profiles(tmp_path) == {}
