"""`wanode apps pacing`: an app's messaging tier and what pacing holds back, read from the
database (like `wanode apps list`)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from wanode.config import Settings

out = Console()
err = Console(stderr=True)


def pacing(
    app_id: Annotated[str | None, typer.Argument(help="App id (default: every app)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table")] = False,
) -> None:
    """Show each app's messaging tier, the new customers in its rolling 24-hour window, and
    how many queued messages the tier and the rate limits hold."""
    # Imported here, as in `_statuses`: the other commands (and `--help`) start without them.
    from wanode.config import Settings

    found = asyncio.run(_statuses(Settings(), app_id))
    if found is None:
        err.print(f"no app {app_id}")
        raise typer.Exit(1)
    if as_json:
        out.print_json(json.dumps(found if app_id is None else found[0]))
        return
    table = Table(
        "app",
        "tier",
        "new customers (24 h)",
        "next place frees",
        "held: tier",
        "held: pacing",
        "queued",
        title="Pacing",
    )
    for status in found:
        tier = status["messaging_tier"]
        source = " (default)" if status["messaging_tier_source"] == "default" else ""
        table.add_row(
            status["appid"],
            f"{tier:,}{source}" if isinstance(tier, int) else f"{tier}{source}",
            f"{status['new_customers']:,}",
            status["window_frees_at"] or "-",
            f"{status['held']['tier']:,}",
            f"{status['held']['pacing']:,}",
            f"{status['queued']:,}",
        )
    out.print(table)


async def _statuses(settings: Settings, app_id: str | None) -> list[dict[str, Any]] | None:
    from wanode.api.shapes import pacing_json
    from wanode.cli.bootstrap import open_database
    from wanode.engine.pacing_status import pacing_status
    from wanode.store import apps as app_queries

    db = open_database(settings)
    try:
        await db.migrate()
        async with db.begin() as conn:
            if app_id is None:
                apps = await app_queries.list_apps(conn)
            else:
                app = await app_queries.get_app(conn, app_id)
                if app is None:
                    return None
                apps = [app]
            now = time.time()
            return [pacing_json(await pacing_status(conn, app, settings, now=now)) for app in apps]
    finally:
        await db.dispose()
