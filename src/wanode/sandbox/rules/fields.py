"""Readers for the JSON of a send request, each failing with the `MetaError` Meta answers.

Every reader takes the value and its path (`interactive.action.buttons[1].reply.title`), so a
refusal names the exact field. The codes follow the module docstring of `validation`: 100 for
an unknown key or a value of the wrong JSON type, 131008 for a missing value, 131009 for a
value of the right type that Meta refuses. A JSON `null` reads as an absent key.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from wanode.sandbox.rules.errors import MetaError


def obj(
    value: Any, path: str, keys: Collection[str], *, required: Collection[str] = ()
) -> dict[str, Any]:
    """`value` as an object holding only `keys`, every key in `required` present.

    `path` is empty for the request body itself, whose keys are named bare.
    """
    if not isinstance(value, dict):
        raise MetaError(100, f"{path or 'the request body'}: must be an object")
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:
        raise MetaError(100, f"{_at(path, unknown[0])}: unknown parameter")
    present = {key: item for key, item in value.items() if item is not None}
    for key in required:
        if key not in present:
            raise MetaError(131008, f"{_at(path, key)}: is required")
    return present


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def string(value: Any, path: str, *, max_len: int | None = None) -> str:
    """A required string: not blank, at most `max_len` characters."""
    if value is None:
        raise MetaError(131008, f"{path}: is required")
    checked = optional_string(value, path, max_len=max_len)
    if checked is None or not checked.strip():
        raise MetaError(131008, f"{path}: is required and must not be empty")
    return checked


def optional_string(value: Any, path: str, *, max_len: int | None = None) -> str | None:
    """An optional string of at most `max_len` characters (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MetaError(100, f"{path}: must be a string")
    if max_len is not None and len(value) > max_len:
        raise MetaError(131009, f"{path}: at most {max_len} characters (got {len(value)})")
    return value


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise MetaError(100, f"{path}: must be true or false")
    return value


def choice(value: Any, path: str, allowed: Collection[str]) -> str:
    """A string that must be one of `allowed`, spelled exactly."""
    if not isinstance(value, str):
        raise MetaError(100, f"{path}: must be a string")
    if value not in allowed:
        raise MetaError(131009, f"{path}: {value!r} is not one of {', '.join(allowed)}")
    return value


def array(value: Any, path: str, *, min_items: int = 0, max_items: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise MetaError(100, f"{path}: must be an array")
    if len(value) < min_items:
        raise MetaError(131008, f"{path}: at least {min_items} item(s) required")
    if max_items is not None and len(value) > max_items:
        raise MetaError(131009, f"{path}: at most {max_items} items (got {len(value)})")
    return value


def http_url(value: Any, path: str) -> str:
    """An absolute http(s) URL with a host: the only links Meta fetches."""
    url = string(value, path)
    try:
        parts = urlsplit(url)
        fetchable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a malformed IPv6 host
        fetchable = False
    if not fetchable or any(c.isspace() for c in url):
        raise MetaError(131009, f"{path}: {url!r} is not an http:// or https:// URL")
    return url
