"""`wanode bench` on a small N: it runs end to end and its figures are sane. No speed is
asserted: the machine is shared and the figures are the report's business."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.acceptance]

WANODE = str(Path(sys.executable).with_name("wanode"))
POSTGRES = os.environ.get(
    "WANODE_TEST_POSTGRES_SERVER_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def test_a_small_bench_runs_on_both_databases_and_reports_sane_figures(tmp_path: Path) -> None:
    report_path = tmp_path / "bench.json"
    done = subprocess.run(
        [
            WANODE,
            "bench",
            "--messages",
            "120",
            "--database",
            "both",
            "--numbers",
            "2",
            "--rate",
            "60",
            "--latency-seconds",
            "1",
            "--json",
            str(report_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "WANODE_BENCH_POSTGRES_URL": POSTGRES},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wanode/pywa" in done.stdout, done.stdout
    report = json.loads(report_path.read_text())
    assert report["machine"]["cores"] >= 1
    assert set(report["databases"]) == {"sqlite", "postgresql"}
    for found in report["databases"].values():
        results = found["results"]
        for name in ("sandbox", "pywa", "submit_single", "submit_batch"):
            assert results[name]["messages"] == 120, name
            assert results[name]["msg_per_s"] > 0, name
        for name in ("lifecycle_single", "lifecycle_batch"):
            lifecycle = results[name]
            assert lifecycle["messages"] == 120
            # Every message reported submitted (7501), delivered (7500) and read (7502).
            assert lifecycle["drs"] == {"7501": 120, "7500": 120, "7502": 120}, lifecycle
            assert lifecycle["seconds"] >= results[name.replace("lifecycle", "submit")]["seconds"]
        latency = results["latency"]
        assert latency["messages"] == 60
        assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
        for shape in ("single", "batch"):
            expected = results[f"submit_{shape}"]["msg_per_s"] / results["pywa"]["msg_per_s"]
            assert found["ratio_to_pywa"][shape] == pytest.approx(expected, rel=0.01)
