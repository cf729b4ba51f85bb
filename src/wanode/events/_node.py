"""Typed, path-aware reads over decoded JSON: every wrong shape becomes one readable error."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from wanode.events.malformed import MalformedWebhook

_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class Node:
    """A JSON object at a known path (`entry[0].changes[1].value`), read field by field.

    Absent keys and JSON nulls read as "missing"; a present value of the wrong type raises
    `MalformedWebhook` naming the path. Keys nobody asks for are ignored.
    """

    __slots__ = ("data", "path")

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise _malformed(path, "an object", data)
        self.data: Mapping[str, Any] = data
        self.path = path

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def string(self, key: str) -> str:
        value = self.opt_string(key)
        if value is None:
            raise _malformed(self._at(key), "a string", None)
        return value

    def opt_string(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        raise _malformed(self._at(key), "a string", value)

    def opt_boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise _malformed(self._at(key), "a boolean", value)

    def integer(self, key: str) -> int:
        value = self.data.get(key)
        # bool is an int subclass in Python but never a code or a count in JSON.
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _malformed(self._at(key), "an integer", value)

    def number(self, key: str) -> float:
        value = self.data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _malformed(self._at(key), "a number", value)

    def unix_time(self, key: str) -> datetime:
        """Meta sends Unix seconds as a string ("1749416383"); the sandbox and older code, ints."""
        value = self.data.get(key)
        if isinstance(value, str) and _UNIX_SECONDS.fullmatch(value):
            seconds = int(value)
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12:
            seconds = value
        else:
            raise _malformed(self._at(key), "Unix seconds", value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise _malformed(self._at(key), "Unix seconds in range", value) from None

    def obj(self, key: str) -> Node:
        return Node(self.data.get(key), self._at(key))

    def opt_obj(self, key: str) -> Node | None:
        return self.obj(key) if self.has(key) else None

    def objects(self, key: str, *, required: bool = False) -> list[Node]:
        """The objects of an array; a missing optional array reads as empty."""
        value = self.data.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise _malformed(self._at(key), "an array", value)
        return [Node(item, f"{self._at(key)}[{i}]") for i, item in enumerate(value)]

    def frozen(self) -> Mapping[str, Any]:
        """A private read-only copy, so a caller mutating the body cannot change an event."""
        return MappingProxyType(json_copy(dict(self.data)))


def json_copy(value: Any) -> Any:
    """A deep copy of decoded JSON (`copy.deepcopy`'s result, in a fraction of its time):
    dicts and lists are copied, strings, numbers, booleans and None shared (they are
    immutable); anything else is left to `copy.deepcopy`."""
    kind = type(value)
    if kind is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list:
        return [json_copy(item) for item in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value)


def _malformed(path: str, expected: str, got: object) -> MalformedWebhook:
    found = "missing" if got is None else type(got).__name__
    return MalformedWebhook(f"{path or 'body'}: expected {expected}, got {found}")
