"""Location messages: decimal degrees as JSON numbers or numeric strings (cloud-api.md §1.2)."""

from __future__ import annotations

import math
import re
from typing import Any

from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.fields import obj, optional_string
from wanode.sandbox.rules.kinds.content import Content

# ASCII digits only: float() also reads other scripts' digits, "nan", "inf" and "1e5".
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def check(body: Any, config: SandboxConfig) -> Content:
    return Content(describe(place(body, "location")))


def place(value: Any, path: str, extras: tuple[str, ...] = ()) -> dict[str, Any]:
    """A location object at `path`: degrees, and an optional name and address (and `extras`)."""
    found = obj(
        value,
        path,
        ("latitude", "longitude", "name", "address", *extras),
        required=("latitude", "longitude"),
    )
    _degrees(found["latitude"], f"{path}.latitude", 90)
    _degrees(found["longitude"], f"{path}.longitude", 180)
    for key in ("name", "address", *extras):
        optional_string(found.get(key), f"{path}.{key}")
    return found


def describe(found: dict[str, Any]) -> str:
    """`[location] Philz Coffee, 101 Forest Ave (37.44, -122.16)`."""
    where = f"({found['latitude']}, {found['longitude']})"
    label = ", ".join(part for part in (found.get("name"), found.get("address")) if part)
    return f"[location] {label} {where}" if label else f"[location] {where}"


def _degrees(value: Any, path: str, limit: int) -> None:
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value.strip()):
            raise MetaError(131009, f"{path}: {value!r} is not a decimal number")
        number: int | float = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    else:
        raise MetaError(100, f"{path}: must be a number or a numeric string")
    # An int is compared as is: float() of a huge one overflows.
    finite = isinstance(number, int) or math.isfinite(number)
    if not finite or not -limit <= number <= limit:
        raise MetaError(131009, f"{path}: must be between -{limit} and {limit} (got {value})")
