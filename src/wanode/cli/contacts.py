"""`wanode contacts import`: customer profiles from a CSV file, written straight to the
configured database in batches, with a per-row error report."""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from wanode.contacts import ContactsCsv, RowError
    from wanode.engine.contacts_import import ImportReport

contacts = typer.Typer(no_args_is_help=True, help="Customer profiles")

out = Console()
err = Console(stderr=True)

SHOWN_ERRORS = 50  # the rest go to --errors; a terminal of 10,000 lines helps nobody


@contacts.command("import")
def import_csv(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns customerid, waid and optionally name, opt_in, opt_in_source, "
            "opt_in_at; any other column is an attribute",
        ),
    ],
    require_e164: Annotated[
        bool, typer.Option("--require-e164", help="Numbers must be written +E.164 exactly")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Check every row against the database, write nothing (conflicts between rows "
            "in different batches of the file go unseen)",
        ),
    ] = False,
    errors: Annotated[
        Path | None, typer.Option(help="Also write the error report to this CSV file")
    ] = None,
    encoding: Annotated[str, typer.Option(help="The file's text encoding")] = "utf-8-sig",
    # Each row adds two parameters to one query; drivers allow about 32,000.
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 500,
    app: Annotated[
        str | None,
        typer.Option(
            "--app",
            help="Import the profiles as this app's (its API keys see them; rows naming another "
            "app's profile fail); without it they belong to no app, as with an admin API key",
        ),
    ] = None,
) -> None:
    """Import customer profiles. Good rows are imported even when others fail; importing the
    same file again changes nothing. Exit code 0: every row imported; 1: some rows failed;
    2: the file could not be read."""
    sheet = _read(file, encoding)
    if errors is not None:
        _write_errors(errors, [])  # a path we cannot write should stop us before the import
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("importing", total=len(sheet))
        report = asyncio.run(
            _import(
                sheet,
                require_e164=require_e164,
                dry_run=dry_run,
                batch_size=batch_size,
                app_id=app,
                done=lambda rows: progress.update(task, completed=rows),
            )
        )
    out.print(report.summary() + (" (dry run: nothing was written)" if dry_run else ""))
    if report.errors:
        out.print(_table(report.errors))
    if errors is not None:
        _write_errors(errors, report.errors)
    if report.failed:
        raise typer.Exit(1)


def _read(file: Path, encoding: str) -> ContactsCsv:
    # Imported here, as the store below: the other commands (and `--help`) start without them.
    from wanode.contacts import BadFile, ContactsCsv

    try:
        with file.open(encoding=encoding, newline="") as stream:
            return ContactsCsv(stream.read())
    except (OSError, LookupError) as exc:
        message = f"cannot read {file}: {exc}"
    except UnicodeDecodeError as exc:
        message = f"{file} is not {encoding} text ({exc.reason}); pass its --encoding"
    except BadFile as exc:
        message = f"{file}: {exc}"
    err.print(message, markup=False)
    raise typer.Exit(2)


async def _import(
    sheet: ContactsCsv,
    *,
    require_e164: bool,
    dry_run: bool,
    batch_size: int,
    done: Callable[[int], object],
    app_id: str | None = None,
) -> ImportReport:
    from wanode.cli.bootstrap import open_database
    from wanode.config import Settings
    from wanode.engine.contacts_import import import_contacts
    from wanode.store import apps as app_queries

    now = time.time()  # one instant for the whole file: the time of consents given without one
    db = open_database(Settings())
    try:
        await db.migrate()
        if app_id is not None:
            async with db.begin() as conn:
                if await app_queries.get_app(conn, app_id) is None:
                    err.print(f"no app {app_id}", markup=False)
                    raise typer.Exit(2)
        report = await import_contacts(
            db,
            sheet,
            now=now,
            require_e164=require_e164,
            dry_run=dry_run,
            batch_size=batch_size,
            app_id=app_id,
            done=done,
        )
    finally:
        await db.dispose()
    return report


def _table(errors: list[RowError]) -> Table:
    table = Table(title="Rows not imported", title_justify="left")
    for heading in ("row", "customerid", "field", "reason"):
        table.add_column(heading, overflow="fold")
    for error in errors[:SHOWN_ERRORS]:
        cells = (str(error.row), error.customer_id or "", error.field or "", error.reason)
        table.add_row(*(Text(cell) for cell in cells))  # as written: "[x]" is not markup
    if len(errors) > SHOWN_ERRORS:
        table.caption = f"and {len(errors) - SHOWN_ERRORS} more; --errors FILE lists them all"
    return table


def _write_errors(path: Path, errors: list[RowError]) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(("row", "customerid", "field", "reason"))
            writer.writerows((e.row, e.customer_id or "", e.field or "", e.reason) for e in errors)
    except OSError as exc:
        err.print(f"cannot write the error report: {exc}", markup=False)
        raise typer.Exit(2) from exc
