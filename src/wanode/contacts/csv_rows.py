"""Contacts CSV files: the header checked once, then every row parsed into a `Profile`.

Columns (matched ignoring case, spaces, `_` and `-`, so "Customer ID" and "wa_id" do):
`customerid` and `waid` are required; `name`, `opt_in`, `opt_in_source`, `opt_in_at` are
optional; every other column is an attribute named by its header. Cells are trimmed and an
empty cell is "not given". Rows are numbered as a spreadsheet shows them: the header is row 1.
A bad row is reported with every field that is wrong in it; it never stops the others.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from wanode.contacts.profile import (
    MAX_ATTRIBUTES,
    MAX_NAME,
    MAX_SOURCE,
    OptInChange,
    Profile,
    Scalar,
    check_attribute_name,
    check_attribute_value,
    check_customer_id,
    check_text,
    parse_time,
)
from wanode.messages import InvalidMessage
from wanode.policy import OptInStatus, normalise_number

REQUIRED = ("customerid", "waid")
COLUMNS = (*REQUIRED, "name", "opt_in", "opt_in_source", "opt_in_at")
_BY_KEY = {column.replace("_", ""): column for column in COLUMNS}
_DELIMITERS = ",;\t"  # spreadsheets in many locales save ";"-separated "CSV"
# Spreadsheet exports write consent as booleans as often as by name.
_OPT_IN_WORDS = {
    **dict.fromkeys(("opted_in", "yes", "y", "true", "1"), OptInStatus.OPTED_IN),
    **dict.fromkeys(("opted_out", "no", "n", "false", "0"), OptInStatus.OPTED_OUT),
}

T = TypeVar("T")


class BadFile(ValueError):
    """The file as a whole cannot be imported, so nothing in it is."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    customer_id: str | None  # as written, to find the row again; None when the cell is empty
    field: str | None  # a column name; None when the row as a whole is wrong
    reason: str


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    profile: Profile


@dataclass(frozen=True, slots=True)
class BadRow:
    number: int
    errors: tuple[RowError, ...]


class ContactsCsv:
    """A contacts CSV held in memory; construction checks the header or raises `BadFile`."""

    def __init__(self, text: str) -> None:
        text = text.removeprefix("\ufeff")  # a BOM-marked file decoded as plain utf-8
        first_line = text.partition("\n")[0]
        delimiter = max(_DELIMITERS, key=first_line.count)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            records = list(reader)
        except csv.Error as exc:
            raise BadFile(f"line {reader.line_num} is not valid CSV: {exc}") from None
        if not records or not any(cell.strip() for cell in records[0]):
            raise BadFile("the file is empty or its first line, the header, is blank")
        self._columns, self._attributes = _header(records[0])
        self._width = len(records[0])
        self._records = records[1:]

    def __len__(self) -> int:
        """The number of data rows, blank ones included (they are skipped but take a number)."""
        return len(self._records)

    def rows(self, *, require_e164: bool, now: float) -> Iterator[Row | BadRow]:
        """Every non-blank row, parsed; `now` is the time of a consent given without one."""
        for number, cells in enumerate(self._records, start=2):
            if any(cell.strip() for cell in cells):
                yield self._row(number, cells, require_e164=require_e164, now=now)

    def _row(
        self, number: int, cells: list[str], *, require_e164: bool, now: float
    ) -> Row | BadRow:
        values = {column: cells[i].strip() for column, i in self._columns.items() if i < len(cells)}
        given_id = values.get("customerid") or None
        if any(cell.strip() for cell in cells[self._width :]):
            reason = f"has {len(cells)} cells but the header has {self._width} columns"
            return BadRow(number, (RowError(number, given_id, None, reason),))
        errors: list[InvalidMessage] = []
        customer_id = _attempt(errors, lambda: check_customer_id(values.get("customerid", "")))
        wa_id = _attempt(
            errors,
            lambda: normalise_number(
                values.get("waid", ""), require_e164=require_e164, field="waid"
            ),
        )
        name = values.get("name")
        if name:
            name = _attempt(errors, lambda: check_text(name, "name", max_length=MAX_NAME))
        opt_in = _attempt(errors, lambda: _opt_in(values, now))
        attributes = None
        if self._attributes:
            attributes = _attempt(errors, lambda: self._attribute_values(cells))
        if errors or customer_id is None or wa_id is None:
            return BadRow(
                number, tuple(RowError(number, given_id, e.field, e.reason) for e in errors)
            )
        return Row(number, Profile(customer_id, wa_id, name or None, opt_in, attributes))

    def _attribute_values(self, cells: list[str]) -> dict[str, Scalar]:
        """The row's attributes; an empty cell leaves the attribute out."""
        found: dict[str, Scalar] = {}
        for index, name in self._attributes:
            value = cells[index].strip() if index < len(cells) else ""
            if value:
                found[name] = check_attribute_value(value, name)
        return found


def _attempt(errors: list[InvalidMessage], parse: Callable[[], T]) -> T | None:
    try:
        return parse()
    except InvalidMessage as exc:
        errors.append(exc)
        return None


def _opt_in(values: dict[str, str], now: float) -> OptInChange | None:
    word, source, at = (values.get(c, "") for c in ("opt_in", "opt_in_source", "opt_in_at"))
    if not word:
        if source or at:
            raise InvalidMessage("opt_in", "is empty, but opt_in_source or opt_in_at is given")
        return None
    status = _OPT_IN_WORDS.get(word.lower())
    if status is None:
        raise InvalidMessage(
            "opt_in", f"{word!r} is not opted_in or opted_out (nor yes/no, true/false, 1/0)"
        )
    return OptInChange(
        status=status,
        source=check_text(source, "opt_in_source", max_length=MAX_SOURCE) if source else None,
        at=parse_time(at, "opt_in_at", now=now) if at else None,
    )


def _header(cells: list[str]) -> tuple[dict[str, int], tuple[tuple[int, str], ...]]:
    """Known columns by name -> index, and (index, name) of the attribute columns."""
    columns: dict[str, int] = {}
    attributes: dict[str, int] = {}
    for index, raw in enumerate(cells):
        name = raw.strip()
        if not name:
            raise BadFile(f"column {index + 1} of the header has no name")
        known = _BY_KEY.get("".join(ch for ch in name.lower() if ch not in " _-"))
        if known is None:
            try:
                check_attribute_name(name, name)
            except InvalidMessage as exc:
                raise BadFile(f"column {name!r}: attribute {exc.reason}") from None
        target, key = (columns, known) if known else (attributes, name)
        if key in target:
            raise BadFile(f"column {key} appears twice in the header")
        target[key] = index
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        raise BadFile(
            f"the header lacks the required column(s) {', '.join(missing)}; "
            f"it has {', '.join(cell.strip() for cell in cells)}"
        )
    if len(attributes) > MAX_ATTRIBUTES:
        raise BadFile(f"at most {MAX_ATTRIBUTES} attribute columns, not {len(attributes)}")
    return columns, tuple((index, name) for name, index in attributes.items())
