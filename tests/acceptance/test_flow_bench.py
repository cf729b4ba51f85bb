"""A small run of the flow benchmark (`python -m wanode.bench.flows`): it works on SQLite and
PostgreSQL and reports sane figures. Nothing here checks a speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def test_a_small_run(tmp_path: Path, postgres_available: None) -> None:
    report_path = tmp_path / "flows.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wanode.bench.flows",
            *("--runs", "200", "--replies", "40", "--rate", "0", "--database", "both"),
            *("--json", str(report_path)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for label in ("DB bytes per waiting run", "serve RSS, runs waiting", "reply → next step, p99"):
        assert label in done.stdout, done.stdout

    report = json.loads(report_path.read_text())
    assert report["machine"]["nproc"] >= 1 and report["machine"]["ram_gib"] > 0
    assert [r["backend"] for r in report["results"]] == ["sqlite", "postgresql"]
    for result in report["results"]:
        assert result["runs"] == 200
        assert result["db_bytes_waiting"] > result["db_bytes_empty"] > 0
        # A waiting run is a row (its state as JSON, indexes, one history row): well under
        # a page of its own, and not nothing.
        assert 100 < result["db_bytes_per_run"] < 8192, result
        for key in ("rss_bytes_no_runs", "rss_bytes_waiting", "rss_bytes_after_replies"):
            assert 20 * MIB < result[key] < 2048 * MIB, (key, result)
        assert result["replies"] == 40
        latency = result["latency_ms"]
        assert 0 <= latency["p50"] <= latency["p99"] <= latency["max"], latency
