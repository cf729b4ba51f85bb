"""Importing customer profiles from a contacts CSV (`wanode.contacts.ContactsCsv`): good rows
written a batch per transaction, each bad row reported with every field that is wrong in it,
progress told as batches are done. The CLI (`wanode contacts import`), the API
(`POST /v1/contacts/import`) and the console's Contacts page import through this one function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Final

from wanode.contacts import BadRow, ContactsCsv, Row, RowError
from wanode.store import Database
from wanode.store import contacts as contact_queries

# Each row adds two parameters to one query; drivers allow about 32,000.
BATCH_SIZE: Final = 500


@dataclass
class ImportReport:
    counts: dict[contact_queries.Outcome, int] = field(
        default_factory=lambda: dict.fromkeys(contact_queries.Outcome, 0)
    )
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)

    def fail(self, errors: tuple[RowError, ...]) -> None:
        self.failed += 1
        self.errors.extend(errors)

    @property
    def rows(self) -> int:
        return sum(self.counts.values()) + self.failed

    def summary(self) -> str:
        done = ", ".join(f"{count} {outcome}" for outcome, count in self.counts.items())
        return f"{self.rows} rows: {done}, {self.failed} failed"

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            **{str(outcome): count for outcome, count in self.counts.items()},
            "failed": self.failed,
            "errors": [
                {
                    "row": e.row,
                    "customerid": e.customer_id,
                    "field": e.field,
                    "reason": e.reason,
                }
                for e in self.errors
            ],
        }


async def import_contacts(
    db: Database,
    sheet: ContactsCsv,
    *,
    now: float,
    require_e164: bool = False,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    app_id: str | None = None,
    done: Callable[[int], object] = lambda rows: None,
) -> ImportReport:
    """Import every row of `sheet`; `done(rows)` is told how many of its `len(sheet)` rows are
    done after each batch. `now` is one instant for the whole file: the time of consents given
    without one. With `app_id` the profiles are that app's (see `upsert_profiles`). A dry run
    checks every row against the database and writes nothing (conflicts between rows of
    different batches go unseen)."""
    report = ImportReport()
    rows = sheet.rows(require_e164=require_e164, now=now)
    while batch := list(islice(rows, batch_size)):
        await _write(db, batch, report, now=now, dry_run=dry_run, app_id=app_id)
        done(batch[-1].number - 1)
    done(len(sheet))
    return report


async def _write(
    db: Database,
    batch: list[Row | BadRow],
    report: ImportReport,
    *,
    now: float,
    dry_run: bool,
    app_id: str | None,
) -> None:
    """One batch in one transaction; a row refused by the database leaves the others in."""
    good = [row for row in batch if isinstance(row, Row)]
    async with db.engine.connect() as conn, conn.begin() as transaction:
        results = await contact_queries.upsert_profiles(
            conn, [row.profile for row in good], now=now, app_id=app_id
        )
        if dry_run:
            await transaction.rollback()
    outcomes = iter(results)
    for row in batch:
        if isinstance(row, BadRow):
            report.fail(row.errors)
            continue
        result = next(outcomes)
        if isinstance(result, contact_queries.WaIdTaken):
            reason = f"+{result.wa_id} belongs to customer id {result.customer_id!r}"
            report.fail((RowError(row.number, row.profile.customer_id, "waid", reason),))
        elif isinstance(result, contact_queries.ProfileOfAnotherApp):
            reason = f"{result.value} is a customer profile of another app, or of none"
            report.fail((RowError(row.number, row.profile.customer_id, result.field, reason),))
        else:
            report.counts[result] += 1
