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
    "latency": "API latency",
}

# Piped or redirected, the table still gets room for its columns (Rich assumes 80 there).
out = Console() if sys.stdout.isatty() else Console(width=130)
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
) -> None:
    """Measure wanode against the sandbox over loopback HTTP, beside pywa and bare httpx."""
    # The bench (pywa, the load generators) is imported only when it runs.
    from wanode.bench import BenchConfig, run_bench
    from wanode.bench.config import DATABASES

    if database not in (*DATABASES, "both"):
        raise typer.BadParameter("sqlite, postgresql or both", param_hint="--database")

    config = BenchConfig(
        messages=messages,
        databases=DATABASES if database == "both" else (database,),
        numbers=numbers,
        concurrency=concurrency,
        latency_rate=rate,
        latency_seconds=latency_seconds,
        postgres_url=postgres_url,
    )
    report = asyncio.run(run_bench(config, progress=lambda line: err.print(f"[dim]{line}[/dim]")))
    out.print(table(report))
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
    grid.add_column("notes")
    for kind, found in report["databases"].items():
        for key, result in found["results"].items():
            notes = ""
            if "p99_ms" in result:
                notes = f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
            # The side being measured: the client for the peers, wanode for wanode's rows.
            cpu = result.get("cpu_ms_per_msg", {})
            spender = "client" if key in ("sandbox", "pywa") else "wanode"
            grid.add_row(
                kind,
                _LABELS.get(key, key),
                str(result["messages"]),
                f"{result['seconds']:.2f}",
                f"{result['msg_per_s']:.0f}",
                f"{cpu[spender]:.2f}" if spender in cpu else "",
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
            f"single {ratio['single']}, batch {ratio['batch']}",
        )
    return grid
