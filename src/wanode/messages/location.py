"""Location messages."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from wanode.messages._fields import obj, optional_text
from wanode.messages.envelope import Message
from wanode.messages.errors import InvalidMessage

# ASCII digits only: float() would also take other scripts' digits, "nan" and "1e5".
_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def _degrees(field: str, value: object, limit: int) -> float:
    """Decimal degrees within ±`limit`, given as a JSON number or a numeric string."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidMessage(field, "must be a number of decimal degrees")
    if not (isinstance(value, int) or math.isfinite(value)) or not -limit <= value <= limit:
        raise InvalidMessage(field, f"must be between -{limit} and {limit}")
    return float(value)


def _wire(degrees: float) -> str:
    # Meta's OpenAPI types coordinates as strings; plain notation, never exponents like 1e-07.
    return format(Decimal(repr(degrees)), "f")


@dataclass(frozen=True)
class Location(Message):
    """A pin. The address is shown only with a name (spec), so an address needs a name."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None

    kind: ClassVar[str] = "location"

    def __post_init__(self) -> None:
        object.__setattr__(self, "latitude", _degrees("latitude", self.latitude, 90))
        object.__setattr__(self, "longitude", _degrees("longitude", self.longitude, 180))
        optional_text("name", self.name)
        optional_text("address", self.address)
        if self.address is not None and self.name is None:
            raise InvalidMessage(
                "address", "needs a name: WhatsApp shows the address only with a name"
            )

    def content(self) -> dict[str, Any]:
        location: dict[str, Any] = {
            "latitude": _wire(self.latitude),
            "longitude": _wire(self.longitude),
        }
        if self.name is not None:
            location["name"] = self.name
        if self.address is not None:
            location["address"] = self.address
        return {"type": "location", "location": location}

    @classmethod
    def from_json(cls, value: Any) -> Location:
        data = obj(
            value, ("latitude", "longitude", "name", "address"), required=("latitude", "longitude")
        )
        return cls(**data)
