"""`wanode bench` on a small N: it runs end to end and its figures are sane. No speed is
asserted: the machine is shared and the figures are the report's business."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.acceptance]

WANODE = str(Path(sys.executable).with_name("wanode"))
POSTGRES = os.environ.get(
    "WANODE_TEST_POSTGRES_SERVER_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def _bench(
    tmp_path: Path, *args: str, timeout: float, env: dict[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """Run `wanode bench` (which must succeed) in `tmp_path`; its output and JSON report."""
    report_path = tmp_path / "bench.json"
    done = subprocess.run(
        [WANODE, "bench", *args, "--json", str(report_path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(report_path.read_text())


def test_a_small_bench_runs_on_both_databases_and_reports_sane_figures(tmp_path: Path) -> None:
    out, report = _bench(
        tmp_path,
        *("--messages", "120", "--database", "both", "--numbers", "2"),
        *("--rate", "60", "--latency-seconds", "1"),
        *("--paced-rate", "20", "--paced-seconds", "1", "--idle-seconds", "1"),
        timeout=900,
        env={**os.environ, "WANODE_BENCH_POSTGRES_URL": POSTGRES},
    )
    assert "wanode/pywa" in out, out
    for label in ("lifecycle at paced rate", "1000-dest request, busy", "idle wanode serve"):
        assert label in out, out
    assert "2 processes" in out, out
    assert report["machine"]["cores"] >= 1
    assert set(report["databases"]) == {"sqlite", "postgresql"}
    # PostgreSQL's statistics were gathered after the single-destination lifecycle.
    assert report["databases"]["postgresql"]["tables_analyzed"] >= 10
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
        # Every wanode run's messages got their three DRs, once each and in order (the bench
        # fails otherwise; the report says it checked).
        for name in ("lifecycle_single", "lifecycle_batch", "latency", "paced"):
            assert results[name]["drs_in_order"] is True, name
        # The paced lifecycle: 20 msg/s for 1 s, timed until the last read DR.
        paced = results["paced"]
        assert paced["messages"] == 20
        assert paced["offered_per_s"] == 20
        assert paced["drs"] == {"7501": 20, "7500": 20, "7502": 20}, paced
        assert paced["seconds"] >= 19 / 20
        assert paced["cpu_ms_per_msg"]["wanode"] > 0
        assert 0 < paced["p50_ms"] <= paced["p99_ms"] <= paced["max_ms"]
        # One 1,000-destination request, idle and during a campaign of N; all their DRs came.
        for name in ("latency1000_idle", "latency1000_busy"):
            request = results[name]
            assert request["messages"] == 1000, name
            assert request["latency_ms"] > 0, name
            assert request["seconds"] == pytest.approx(request["latency_ms"] / 1000, abs=0.001)
            assert request["drs"] == {"7501": 1000, "7500": 1000, "7502": 1000}, request
            assert request["cpu_ms_per_msg"]["wanode"] > 0, name
        busy = results["latency1000_busy"]
        assert busy["campaign_messages"] == 120
        assert busy["campaign_drs"] == {"7501": 120, "7500": 120, "7502": 120}, busy
        # The idle server: a share of one core over 1 s.
        idle = results["idle"]
        assert idle["messages"] == 0
        assert idle["seconds"] >= 1
        assert 0 <= idle["cpu_percent_of_core"]["wanode"] < 100
    # The PostgreSQL server (on this machine) did work for every lifecycle, and its CPU is in
    # the report beside wanode's; SQLite has no server.
    for name in ("lifecycle_single", "lifecycle_batch", "paced", "workers"):
        assert (
            report["databases"]["postgresql"]["results"][name]["cpu_ms_per_msg"]["postgresql"] > 0
        ), name
        if name != "workers":
            assert (
                "postgresql" not in report["databases"]["sqlite"]["results"][name]["cpu_ms_per_msg"]
            )
    assert "PG server ms/msg" in out, out
    # Two wanode processes over one PostgreSQL database: PostgreSQL only.
    assert "workers" not in report["databases"]["sqlite"]["results"]
    assert "workers_cpu_ratio" not in report["databases"]["sqlite"]
    postgresql = report["databases"]["postgresql"]
    workers = postgresql["results"]["workers"]
    assert workers["messages"] == 120
    assert workers["drs"] == {"7501": 120, "7500": 120, "7502": 120}, workers
    assert workers["drs_in_order"] is True
    cpu = workers["cpu_ms_per_msg"]
    assert cpu["wanode"] == pytest.approx(cpu["wanode_0"] + cpu["wanode_1"], abs=0.01)
    one = postgresql["results"]["lifecycle_batch"]["cpu_ms_per_msg"]["wanode"]
    assert workers["cpu_ratio_to_one_process"] == pytest.approx(cpu["wanode"] / one, rel=0.01)
    assert postgresql["workers_cpu_ratio"] == workers["cpu_ratio_to_one_process"] > 0


def test_the_extra_measurements_can_be_skipped(tmp_path: Path) -> None:
    _, report = _bench(
        tmp_path,
        *("--messages", "10", "--database", "sqlite", "--numbers", "1"),
        *("--rate", "10", "--latency-seconds", "0.5"),
        *("--skip", "paced,latency1000,workers,idle"),
        # 10 msg/s: a burst of 10 messages outruns the next 0.5 s, and some wait in the line.
        *("--pacing-mps", "10"),
        timeout=600,
    )
    assert report["config"]["skip"] == ["idle", "latency1000", "paced", "workers"]
    assert report["config"]["pacing_mps_per_number"] == 10
    results = report["databases"]["sqlite"]["results"]
    for name in ("lifecycle_single", "lifecycle_batch"):
        assert results[name]["drs"] == {"7501": 10, "7500": 10, "7502": 10}, name
        assert results[name]["drs_in_order"] is True, name
        # Ten at 10 msg/s (a burst of 2, then one per 0.1 s): the last slot is 0.8 s on.
        assert results[name]["seconds"] >= 0.8, name
    assert set(report["databases"]["sqlite"]["results"]) == {
        "sandbox",
        "pywa",
        "submit_single",
        "lifecycle_single",
        "submit_batch",
        "lifecycle_batch",
        "latency",
    }


def test_an_unknown_measurement_to_skip_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [WANODE, "bench", "--skip", "paced,warp"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--skip" in done.stdout + done.stderr
    assert not list(tmp_path.iterdir())
