"""Graph's cursor paging for the sandbox's lists (message templates, QR codes).

A cursor is the base64 of an item's id; `after` starts past that item, `before` ends before
it. `paging` holds the cursors of the page's first and last items, and is absent from an empty
page.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from wanode.sandbox.rules.errors import MetaError

T = TypeVar("T")


def page(
    items: Sequence[T],
    key: Callable[[T], str],
    *,
    limit: str | None,
    after: str | None,
    before: str | None,
    max_size: int,
    default_size: int | None = None,
) -> dict[str, Any]:
    """`{"data": [...], "paging": {"cursors": {...}}}` for one page of `items` (not rendered)."""
    size = default_size or max_size
    if limit is not None:
        if not limit.isdigit() or not 1 <= int(limit) <= max_size:
            raise MetaError(100, f"limit: must be a whole number from 1 to {max_size}")
        size = int(limit)
    ids = [key(item) for item in items]
    start, end = 0, len(items)
    if after is not None:
        start = _position(ids, after) + 1
    if before is not None:
        end = _position(ids, before)
        start = max(start, end - size)
    chosen = list(items[start : min(end, start + size)])
    answer: dict[str, Any] = {"data": chosen}
    if chosen:
        answer["paging"] = {
            "cursors": {"before": _cursor(key(chosen[0])), "after": _cursor(key(chosen[-1]))}
        }
    return answer


def _position(ids: list[str], cursor: str) -> int:
    try:
        return ids.index(base64.b64decode(cursor, validate=True).decode())
    except ValueError as exc:
        raise MetaError(100, f"{cursor!r} is not a cursor of this list") from exc


def _cursor(item_id: str) -> str:
    return base64.b64encode(item_id.encode()).decode()
