"""Customer profiles (spec "Customer ID"): parsing what callers state about their customers,
from a JSON body or a CSV file, into frozen values. No I/O."""

from wanode.contacts.csv_rows import BadFile, BadRow, ContactsCsv, Row, RowError
from wanode.contacts.profile import (
    OptInChange,
    Profile,
    Scalar,
    check_customer_id,
    parse_profile,
)

__all__ = [
    "BadFile",
    "BadRow",
    "ContactsCsv",
    "OptInChange",
    "Profile",
    "Row",
    "RowError",
    "Scalar",
    "check_customer_id",
    "parse_profile",
]
