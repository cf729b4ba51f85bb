"""Contacts CSV parsing: the header, good rows, every kind of row error, attributes,
BOM and encodings, quoting. Pure: no database, the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wanode.codes import SYNC
from wanode.contacts import (
    BadFile,
    BadRow,
    ContactsCsv,
    OptInChange,
    Profile,
    Row,
    RowError,
    check_customer_id,
)
from wanode.contacts.profile import FUTURE_TOLERANCE_SECONDS, MAX_CUSTOMER_ID, MAX_NAME
from wanode.messages import InvalidMessage
from wanode.policy import OptInStatus

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp()
HEADER = "customerid,waid,name,opt_in,opt_in_source,opt_in_at"
ADA = "4915112345678"


def parse(text: str, *, require_e164: bool = False) -> list[Row | BadRow]:
    return list(ContactsCsv(text).rows(require_e164=require_e164, now=NOW))


def profiles(text: str, **options: bool) -> list[Profile]:
    rows = parse(text, **options)
    assert all(isinstance(row, Row) for row in rows), rows
    return [row.profile for row in rows if isinstance(row, Row)]


def errors(text: str, **options: bool) -> list[tuple[int, str | None, str | None, str]]:
    """(row, customer id, field, reason) of every error, in order."""
    found: list[RowError] = []
    for row in parse(text, **options):
        assert isinstance(row, BadRow), row
        found.extend(row.errors)
    return [(e.row, e.customer_id, e.field, e.reason) for e in found]


def test_a_full_row() -> None:
    cells = "c-1, +49 151 1234-5678 , Ada Lovelace ,opted_in,web form,2024-05-01T09:30:00Z"
    text = f"{HEADER}\n{cells}\n"
    [row] = parse(text)
    assert row == Row(
        2,
        Profile(
            customer_id="c-1",
            wa_id=ADA,
            name="Ada Lovelace",
            opt_in=OptInChange(
                OptInStatus.OPTED_IN,
                "web form",
                datetime(2024, 5, 1, 9, 30, tzinfo=UTC).timestamp(),
            ),
        ),
    )


def test_only_the_required_columns() -> None:
    assert profiles(f"waid,customerid\n{ADA},c-1\n") == [Profile("c-1", ADA)]


def test_empty_cells_are_not_given() -> None:
    assert profiles(f"{HEADER}\nc-1,{ADA},,,,\nc-2,+447911123456\n") == [
        Profile("c-1", ADA),
        Profile("c-2", "447911123456"),
    ]


@pytest.mark.parametrize(
    "header",
    [
        "Customer ID,WA ID,Name,Opt-In,Opt In Source,opt_in_at",
        "customer_id,wa_id,NAME,optin,optinsource,OptInAt",
        " customerid , waid ,name,opt_in,opt_in_source,opt_in_at",
    ],
)
def test_header_names_are_matched_loosely(header: str) -> None:
    [profile] = profiles(f"{header}\nc-1,{ADA},Ada,yes,form,2024-05-01\n")
    assert profile.name == "Ada"
    assert profile.opt_in == OptInChange(
        OptInStatus.OPTED_IN, "form", datetime(2024, 5, 1, tzinfo=UTC).timestamp()
    )


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("opted_in", OptInStatus.OPTED_IN),
        ("OPTED_IN", OptInStatus.OPTED_IN),
        ("Yes", OptInStatus.OPTED_IN),
        ("true", OptInStatus.OPTED_IN),
        ("1", OptInStatus.OPTED_IN),
        ("opted_out", OptInStatus.OPTED_OUT),
        ("no", OptInStatus.OPTED_OUT),
        ("FALSE", OptInStatus.OPTED_OUT),
        ("0", OptInStatus.OPTED_OUT),
    ],
)
def test_opt_in_words(word: str, status: OptInStatus) -> None:
    [profile] = profiles(f"customerid,waid,opt_in\nc-1,{ADA},{word}\n")
    assert profile.opt_in == OptInChange(status)


def test_opt_in_times() -> None:
    text = (
        "customerid,waid,opt_in,opt_in_at\n"
        f"c-1,{ADA},yes,2024-05-01T11:30:00+02:00\n"  # an offset is converted
        "c-2,+447911123456,yes,2024-05-01 09:30\n"  # no offset is UTC
        f"c-3,+14155552671,yes,{datetime.fromtimestamp(NOW + 60, UTC).isoformat()}\n"
    )
    at = [p.opt_in.at for p in profiles(text) if p.opt_in is not None]
    nine_thirty = datetime(2024, 5, 1, 9, 30, tzinfo=UTC).timestamp()
    # A clock a minute ahead of ours is ours: a consent is never stored in the future.
    assert at == [nine_thirty, nine_thirty, NOW]


def test_attributes_are_the_other_columns() -> None:
    text = f"customerid,waid,Tier,city,name\nc-1,{ADA},gold, Berlin ,Ada\nc-2,+447911123456,,,\n"
    assert [p.attributes for p in profiles(text)] == [
        {"Tier": "gold", "city": "Berlin"},
        # Empty cells leave the attribute out; the file still states the (empty) set.
        {},
    ]
    assert [p.attributes for p in profiles(f"customerid,waid\nc-1,{ADA}\n")] == [None]


def test_bom_and_non_ascii_text() -> None:
    text = f"\ufeffcustomerid,waid,name,Stadt\nc-ü,{ADA},Zoë 李 🙂,Köln\n"
    [profile] = profiles(text)
    assert profile == Profile("c-ü", ADA, "Zoë 李 🙂", attributes={"Stadt": "Köln"})


def test_quoted_fields() -> None:
    text = (
        "customerid,waid,name,note\r\n"
        f'"c,1","{ADA}","Lovelace, Ada","said ""hi""\r\nthen left"\r\n'
        'c-2,+447911123456,"Bob",plain\r\n'
    )
    rows = parse(text)
    assert [row.number for row in rows] == [2, 3]  # records, as a spreadsheet numbers them
    assert [p.profile for p in rows if isinstance(p, Row)] == [
        Profile("c,1", ADA, "Lovelace, Ada", attributes={"note": 'said "hi"\r\nthen left'}),
        Profile("c-2", "447911123456", "Bob", attributes={"note": "plain"}),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_other_delimiters(delimiter: str) -> None:
    text = f"customerid{delimiter}waid{delimiter}name\nc-1{delimiter}{ADA}{delimiter}Ada, L.\n"
    assert profiles(text) == [Profile("c-1", ADA, "Ada, L.")]


def test_blank_lines_are_skipped_but_keep_their_number() -> None:
    text = f"customerid,waid\n\nc-1,{ADA}\n , \nc-2,+447911123456\n"
    sheet = ContactsCsv(text)
    assert len(sheet) == 4
    assert [row.number for row in sheet.rows(require_e164=False, now=NOW)] == [3, 5]


def test_customer_id_errors() -> None:
    text = f'customerid,waid\n,{ADA}\n{"x" * (MAX_CUSTOMER_ID + 1)},{ADA}\n"c\x071",{ADA}\n'
    assert errors(text) == [
        (2, None, "customerid", "is empty"),
        (3, "x" * 129, "customerid", "must be at most 128 characters, not 129"),
        (4, "c\x071", "customerid", "must not contain control characters"),
    ]


def test_number_errors() -> None:
    text = "customerid,waid\nc-1,\nc-2,12ab34\nc-3,+49 151\nc-4,+999 1234567\n"
    found = errors(text)
    assert [(row, field) for row, _, field, _ in found] == [(r, "waid") for r in (2, 3, 4, 5)]
    assert [reason for *_, reason in found] == [
        "is empty",
        "may contain only digits, spaces, dashes, dots, brackets and a leading +",
        "must have 7 to 15 digits including the country code, not 5",
        "does not start with a known country code",
    ]


def test_require_e164() -> None:
    text = f"customerid,waid\nc-1,+{ADA}\nc-2,{ADA}\nc-3,+49 151 12345678\n"
    first, *others = parse(text, require_e164=True)
    assert first == Row(2, Profile("c-1", ADA))
    reasons = [row.errors[0].reason for row in others if isinstance(row, BadRow)]
    assert len(reasons) == 2
    assert "must start with + and the country code" in reasons[0]
    assert "without spaces or punctuation" in reasons[1]


def test_opt_in_errors() -> None:
    future = datetime.fromtimestamp(NOW + FUTURE_TOLERANCE_SECONDS + 60, UTC).isoformat()
    text = (
        f"{HEADER}\n"
        f"c-1,{ADA},,maybe,,\n"
        f"c-2,{ADA},,,web form,\n"
        f"c-3,{ADA},,yes,,yesterday\n"
        f"c-4,{ADA},,yes,,{future}\n"
    )
    assert errors(text) == [
        (2, "c-1", "opt_in", "'maybe' is not opted_in or opted_out (nor yes/no, true/false, 1/0)"),
        (3, "c-2", "opt_in", "is empty, but opt_in_source or opt_in_at is given"),
        (4, "c-3", "opt_in_at", "'yesterday' is not an ISO 8601 time, e.g. 2024-05-01T09:30:00Z"),
        (5, "c-4", "opt_in_at", "is in the future"),
    ]


def test_name_and_attribute_errors() -> None:
    text = f"customerid,waid,name,note\nc-1,{ADA},{'n' * (MAX_NAME + 1)},{'v' * 1001}\n"
    assert errors(text) == [
        (2, "c-1", "name", f"must be at most {MAX_NAME} characters, not {MAX_NAME + 1}"),
        (2, "c-1", "note", "must be at most 1000 characters, not 1001"),
    ]


def test_every_wrong_field_of_a_row_is_reported() -> None:
    assert [(field, row) for row, _, field, _ in errors(f"{HEADER}\n,123,,maybe,,\n")] == [
        ("customerid", 2),
        ("waid", 2),
        ("opt_in", 2),
    ]


def test_a_row_with_more_cells_than_the_header() -> None:
    assert errors(f"customerid,waid\nc-1,{ADA},extra\n") == [
        (2, "c-1", None, "has 3 cells but the header has 2 columns")
    ]
    # Trailing empty cells, as some spreadsheets write them, are no error; short rows neither.
    assert profiles(f"customerid,waid,name\nc-1,{ADA},Ada,,\nc-2,+447911123456\n") == [
        Profile("c-1", ADA, "Ada"),
        Profile("c-2", "447911123456"),
    ]


def test_bad_rows_do_not_stop_good_ones() -> None:
    rows = parse(f"customerid,waid\nc-1,nope\nc-2,{ADA}\n")
    assert [type(row) for row in rows] == [BadRow, Row]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("\n\ncustomerid,waid\n", "the file is empty"),
        ("id,waid\n1,2\n", "lacks the required column(s) customerid; it has id, waid"),
        ("name\nAda\n", "lacks the required column(s) customerid, waid"),
        ("customerid,waid,,note\n", "column 3 of the header has no name"),
        ("customerid,waid,Customer ID\n", "column customerid appears twice"),
        ("customerid,waid,tier,tier\n", "column tier appears twice"),
        (f"customerid,waid,{'a' * 65}\n", "attribute names must have 1 to 64 characters"),
        ("customerid,waid," + ",".join(f"a{i}" for i in range(101)) + "\n", "at most 100"),
    ],
)
def test_bad_files(text: str, message: str) -> None:
    with pytest.raises(BadFile) as raised:
        ContactsCsv(text)
    assert message in str(raised.value)


def test_the_shared_validators_speak_the_api_codes() -> None:
    """The API answers with the same reasons; an empty value is "missing" (7003)."""
    with pytest.raises(InvalidMessage) as raised:
        check_customer_id("")
    assert (raised.value.code, raised.value.field) == (SYNC.MANDATORY_MISSING, "customerid")
    with pytest.raises(InvalidMessage) as raised:
        check_customer_id(" c-1")
    assert raised.value.reason == "must not start or end with whitespace"
