"""Shared checks, so each rule is written once, and the JSON readers the parsers use.

Value types call the checks from `__post_init__` with paths relative to themselves; parsers
read JSON with `obj`/`array` and place errors under the path they are reading with `at`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

from wanode.codes import SYNC
from wanode.messages.errors import InvalidMessage

T = TypeVar("T")

_SEGMENT_END = re.compile(r"[.\[]")


def text(field: str, value: object, *, max_len: int | None = None) -> str:
    """A mandatory string: present, not blank, at most `max_len` characters."""
    return _string(field, value, max_len, SYNC.MANDATORY_MISSING)


def optional_text(field: str, value: object, *, max_len: int | None = None) -> str | None:
    """An optional string: absent (None), or non-blank and at most `max_len` characters."""
    return None if value is None else _string(field, value, max_len, SYNC.INVALID_VALUE)


def _string(field: str, value: object, max_len: int | None, empty_code: str) -> str:
    if value is None:
        raise InvalidMessage(field, "is mandatory", code=SYNC.MANDATORY_MISSING)
    if not isinstance(value, str):
        raise InvalidMessage(field, "must be a string")
    if not value.strip():
        raise InvalidMessage(field, "must not be empty", code=empty_code)
    if max_len is not None and len(value) > max_len:
        raise InvalidMessage(field, f"is {len(value)} characters; at most {max_len} are allowed")
    return value


def no_punctuation(field: str, value: str | None) -> None:
    """Reject punctuation, which the spec forbids in name prefixes and suffixes."""
    if value is not None and any(unicodedata.category(c).startswith("P") for c in value):
        raise InvalidMessage(field, "must not contain punctuation")


def choice(field: str, value: object, allowed: Collection[str]) -> str | None:
    """An optional value that must be one of `allowed` (exact spelling)."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise InvalidMessage(field, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidMessage(field, "must be true or false")
    return value


def http_url(field: str, value: object) -> SplitResult:
    """A mandatory absolute http(s) URL with a host and no whitespace."""
    url = text(field, value)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidMessage(field, f"is not a valid URL ({exc})") from None
    if any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidMessage(field, "must not contain spaces or control characters")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidMessage(field, "must be an http:// or https:// URL")
    return parts


def items(field: str, value: object, item_type: type[T]) -> tuple[T, ...]:
    """A list or tuple whose items are all `item_type`, as a tuple (values stay immutable)."""
    if not isinstance(value, list | tuple):
        raise InvalidMessage(field, "must be a list")
    for index, item in enumerate(value):
        if not isinstance(item, item_type):
            raise InvalidMessage(f"{field}[{index}]", f"must be a {item_type.__name__}")
    return tuple(value)


def obj(value: Any, keys: Collection[str], *, required: Collection[str] = ()) -> dict[str, Any]:
    """`value` as a JSON object holding only `keys`; a null reads as an absent key."""
    if not isinstance(value, dict):
        raise InvalidMessage("", "must be an object")
    for key in value:
        if key not in keys:
            raise InvalidMessage(str(key), "is not a known field")
    present = {key: item for key, item in value.items() if item is not None}
    for key in required:
        if key not in present:
            raise InvalidMessage(key, "is mandatory", code=SYNC.MANDATORY_MISSING)
    return present


def each(value: Any, parse: Callable[[Any], T]) -> tuple[T, ...]:
    """Parse every item of a JSON array, errors placed under the item's index."""
    if not isinstance(value, list):
        raise InvalidMessage("", "must be an array")
    parsed = []
    for index, item in enumerate(value):
        with at(f"[{index}]"):
            parsed.append(parse(item))
    return tuple(parsed)


@contextmanager
def at(prefix: str) -> Iterator[None]:
    """Place errors raised inside under `prefix`, the path of the JSON being read."""
    try:
        yield
    except InvalidMessage as error:
        raise error.under(prefix) from None


@contextmanager
def renamed(names: Mapping[str, str]) -> Iterator[None]:
    """Report an error's leading path segment under the caller's name for it (Webex `url`)."""
    try:
        yield
    except InvalidMessage as error:
        head = _SEGMENT_END.split(error.field, maxsplit=1)[0]
        rest = error.field[len(head) :]
        if head not in names:
            raise
        raise InvalidMessage(names[head] + rest, error.reason, code=error.code) from None
