"""`wanode bench`: run the benchmark, print a table, write JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

# Short names, so the table fits 80 columns; the JSON has the long ones.
_LABELS = {
    "sandbox": "sandbox ceiling (httpx)",
    "pywa": "pywa peer",
    "submit_single": "submit, 1 dest/request",
    "lifecycle_single": "lifecycle, 1 dest/request",
    "submit_batch": "submit, 1000 dest/request",
    "lifecycle_batch": "lifecycle, 1000 dest/request",
    "workers": "lifecycle, 1000 dest, 2 processes",
    "latency": "API latency",
    "paced": "lifecycle at paced rate",
    "latency1000_idle": "1000-dest request, idle",
    "latency1000_busy": "1000-dest request, busy",
    "idle": "idle wanode serve",
}

# Piped or redirected, the table still gets room for its columns (Rich assumes 80 there).
out = Console() if sys.stdout.isatty() else Console(width=150)
err = Console(stderr=True)


def bench(
    messages: Annotated[
        int, typer.Option("--messages", "-n", min=1, help="Messages per measurement (N)")
    ] = 10_000,
    database: Annotated[str, typer.Option(help="sqlite, postgresql or both")] = "both",
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the full report here as JSON")
    ] = None,
    numbers: Annotated[
        int, typer.Option(min=1, help="Business numbers the messages are spread over")
    ] = 4,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight")] = 64,
    pacing_mps: Annotated[
        float,
        typer.Option(
            min=1,
            max=1000,
            help="Each business number's pacing rate in msg/s (Meta's default tier is 80)",
        ),
    ] = 1000.0,
    rate: Annotated[
        float, typer.Option(min=1, help="Offered msg/s for the latency measurement")
    ] = 500.0,
    latency_seconds: Annotated[
        float, typer.Option(min=0.1, help="How long the latency measurement offers its rate")
    ] = 6.0,
    postgres_url: Annotated[
        str,
        typer.Option(
            envvar="WANODE_BENCH_POSTGRES_URL",
            help="A PostgreSQL server the bench may create (and drop) a database on",
        ),
    ] = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
    paced_rate: Annotated[
        float, typer.Option(min=0.1, help="Offered msg/s for the paced lifecycle")
    ] = 50.0,
    paced_seconds: Annotated[
        float, typer.Option(min=0.1, help="How long the paced lifecycle offers its rate")
    ] = 10.0,
    idle_seconds: Annotated[
        float, typer.Option(min=0.1, help="How long the idle server's CPU is measured")
    ] = 10.0,
    skip: Annotated[
        str,
        typer.Option(
            help="Comma-separated measurements to leave out: paced, latency1000, workers, idle"
        ),
    ] = "",
    profile: Annotated[
        bool,
        typer.Option(
            help="Sample `wanode serve` with py-spy during the lifecycles and split its CPU by "
            "component (API, dispatch, statuses, DRs...) in the JSON"
        ),
    ] = False,
) -> None:
    """Measure wanode against the sandbox over loopback HTTP, beside pywa and bare httpx."""
    # The bench (pywa, the load generators) is imported only when it runs.
    from wanode.bench import BenchConfig, run_bench
    from wanode.bench.config import DATABASES, OPTIONAL

    if database not in (*DATABASES, "both"):
        raise typer.BadParameter("sqlite, postgresql or both", param_hint="--database")
    skipped = frozenset(name.strip() for name in skip.split(",") if name.strip())
    if not skipped <= set(OPTIONAL):
        raise typer.BadParameter(f"of {', '.join(OPTIONAL)}", param_hint="--skip")

    config = BenchConfig(
        messages=messages,
        databases=DATABASES if database == "both" else (database,),
        numbers=numbers,
        concurrency=concurrency,
        pacing_mps=pacing_mps,
        latency_rate=rate,
        latency_seconds=latency_seconds,
        postgres_url=postgres_url,
        paced_rate=paced_rate,
        paced_seconds=paced_seconds,
        idle_seconds=idle_seconds,
        skip=skipped,
        profile=profile,
    )
    report = asyncio.run(run_bench(config, progress=lambda line: err.print(f"[dim]{line}[/dim]")))
    out.print(table(report))
    split = components_table(report)
    if split is not None:
        out.print(split)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
        err.print(f"report written to {json_path}")


def table(report: dict[str, Any]) -> Table:
    m = report["machine"]
    grid = Table(
        title=f"wanode bench: N={report['config']['messages']} on {m['cores']} cores, {m['cpu']}"
    )
    grid.add_column("database")
    grid.add_column("measurement")
    grid.add_column("messages", justify="right")
    grid.add_column("seconds", justify="right")
    grid.add_column("msg/s", justify="right")
    grid.add_column("CPU ms/msg", justify="right")
    grid.add_column("PG server ms/msg", justify="right")
    grid.add_column("notes")
    for kind, found in report["databases"].items():
        for key, result in found["results"].items():
            notes = _notes(key, result)
            # The side being measured: the client for the peers, wanode for wanode's rows.
            cpu = result.get("cpu_ms_per_msg", {})
            spender = "client" if key in ("sandbox", "pywa") else "wanode"
            grid.add_row(
                kind,
                _LABELS.get(key, key),
                str(result["messages"]) if result["messages"] else "",
                f"{result['seconds']:.2f}",
                f"{result['msg_per_s']:.0f}" if result["messages"] else "",
                f"{cpu[spender]:.2f}" if spender in cpu else "",
                f"{cpu['postgresql']:.2f}" if spender == "wanode" and "postgresql" in cpu else "",
                notes,
            )
        ratio = found["ratio_to_pywa"]
        grid.add_row(
            kind,
            "wanode/pywa",
            "",
            "",
            "",
            "",
            "",
            f"single {ratio['single']}, batch {ratio['batch']}",
        )
    return grid


def components_table(report: dict[str, Any]) -> Table | None:
    """wanode's CPU per message by component, for the runs `--profile` sampled."""
    rows = [
        (kind, key, result["wanode_cpu_by_component"])
        for kind, found in report["databases"].items()
        for key, result in found["results"].items()
        if "wanode_cpu_by_component" in result
    ]
    if not rows:
        return None
    grid = Table(title="wanode CPU ms/msg by component (py-spy samples)")
    grid.add_column("database")
    grid.add_column("measurement")
    grid.add_column("samples", justify="right")
    grid.add_column("ms/msg by component")
    for kind, key, split in rows:
        shares = split.get("ms_per_msg", {})
        text = ", ".join(f"{name} {ms:.2f}" for name, ms in shares.items()) or split.get("error")
        grid.add_row(kind, _LABELS.get(key, key), str(split["samples"]), text)
    return grid


def _notes(key: str, result: dict[str, Any]) -> str:
    if key == "idle":
        share = result["cpu_percent_of_core"]
        return f"wanode {share['wanode']}% of a core, sandbox {share['sandbox']}%"
    if key == "workers":
        cpu = result["cpu_ms_per_msg"]
        return (
            f"CPU x{result['cpu_ratio_to_one_process']} of 1 process "
            f"({cpu.get('wanode_0', 0):.2f} + {cpu.get('wanode_1', 0):.2f})"
        )
    if key.startswith("latency1000"):
        notes = f"answered in {result['latency_ms']} ms"
        if "campaign_messages" in result:
            notes += f" (campaign of {result['campaign_messages']})"
        return notes
    if "p99_ms" in result:
        notes = f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
        if key == "paced":
            notes = f"{result['offered_per_s']:g} msg/s offered; API " + notes
            if "submitted_dr_p50_ms" in result:
                notes += (
                    f"; 7501 DR after p50 {result['submitted_dr_p50_ms']} ms, "
                    f"p99 {result['submitted_dr_p99_ms']} ms"
                )
        return notes
    return ""
