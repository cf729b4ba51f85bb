"""Reading Graph JSON in two modes: strict for a create request, lenient for what Meta returns.

Strict reading is the messages layer's usual: unknown keys and values of the wrong JSON type are
refused with their path. Lenient reading never refuses: it ignores unknown keys and takes a
value of the wrong type as absent, so a template Meta returns with odd or newer data still reads.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from wanode.messages._fields import obj
from wanode.messages.errors import InvalidMessage


@dataclass(frozen=True)
class Reader:
    strict: bool

    def object(self, value: Any, keys: Collection[str]) -> dict[str, Any]:
        """`value` as an object of `keys` (nulls read as absent)."""
        if self.strict:
            return obj(value, keys)
        if not isinstance(value, dict):
            return {}
        return {k: v for k, v in value.items() if k in keys and v is not None}

    def string(self, data: dict[str, Any], key: str) -> str | None:
        value = data.get(key)
        if value is None or isinstance(value, str):
            return value
        self._wrong(key, "a string")
        return None

    def integer(self, data: dict[str, Any], key: str) -> int | None:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value is not None:
            self._wrong(key, "an integer")
        return None

    def boolean(self, data: dict[str, Any], key: str) -> bool | None:
        value = data.get(key)
        if value is None or isinstance(value, bool):
            return value
        self._wrong(key, "true or false")
        return None

    def array(self, data: dict[str, Any], key: str) -> list[Any]:
        value = data.get(key)
        if isinstance(value, list):
            return value
        if value is not None and self.strict:
            raise InvalidMessage(key, "must be an array")
        return []

    def strings(self, value: Any, field: str) -> tuple[str, ...]:
        """An array of strings; lenient reading keeps only the strings."""
        if not isinstance(value, list):
            if self.strict:
                raise InvalidMessage(field, "must be an array of strings")
            return ()
        if self.strict:
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise InvalidMessage(f"{field}[{index}]", "must be a string")
        return tuple(item for item in value if isinstance(item, str))

    def _wrong(self, key: str, what: str) -> None:
        """Refuse a value of the wrong JSON type; lenient reading takes it as absent."""
        if self.strict:
            raise InvalidMessage(key, f"must be {what}")


def raw(value: Any) -> str:
    """JSON text of a value kept as Meta gave it (hashable, and rendered back unchanged)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def unraw(text: str) -> dict[str, Any]:
    """The object `raw` kept (a non-object Meta sent in its place renders as `{}`)."""
    value = json.loads(text)
    return value if isinstance(value, dict) else {}
