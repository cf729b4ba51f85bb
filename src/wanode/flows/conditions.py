"""Trigger and Branch conditions: parsing and evaluation. Pure.

A condition is `{left, op, right}` with `$(...)` templates on either side, or a group
`{all: [...]}` / `{any: [...]}` (AND / OR). Operators are the reference's (§5): equals, not
equals, contains, starts with, ends with, in, not in, equals ignoring case, between, and the
numeric comparisons. Comparisons of values that are not numbers are simply false.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from wanode.flows.model import Condition
from wanode.flows.variables import Scope, as_text


class InvalidCondition(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, Any], bool]:
    def check(left: str, right: Any) -> bool:
        a, b = _number(left), _number(as_text(right))
        return a is not None and b is not None and compare(a, b)

    return check


def _members(right: Any) -> list[str]:
    if isinstance(right, list | tuple):
        return [as_text(item) for item in right]
    return [part.strip() for part in as_text(right).split(",")]


def _between(left: str, right: Any) -> bool:
    bounds = _members(right)
    value = _number(left)
    low, high = (_number(b) for b in bounds) if len(bounds) == 2 else (None, None)
    return value is not None and low is not None and high is not None and low <= value <= high


OPERATORS: Final[Mapping[str, Callable[[str, Any], bool]]] = {
    "equals": lambda a, b: a == as_text(b),
    "not_equals": lambda a, b: a != as_text(b),
    "equals_ignore_case": lambda a, b: a.casefold() == as_text(b).casefold(),
    "contains": lambda a, b: as_text(b) in a,
    "not_contains": lambda a, b: as_text(b) not in a,
    "starts_with": lambda a, b: a.startswith(as_text(b)),
    "ends_with": lambda a, b: a.endswith(as_text(b)),
    "in": lambda a, b: a in _members(b),
    "not_in": lambda a, b: a not in _members(b),
    "gt": _numeric(lambda a, b: a > b),
    "lt": _numeric(lambda a, b: a < b),
    "gte": _numeric(lambda a, b: a >= b),
    "lte": _numeric(lambda a, b: a <= b),
    "between": _between,
    "is_empty": lambda a, _b: a == "",
    "is_not_empty": lambda a, _b: a != "",
}
_UNARY: Final = frozenset({"is_empty", "is_not_empty"})
_ALIASES: Final = {
    "==": "equals",
    "!=": "not_equals",
    ">": "gt",
    "<": "lt",
    ">=": "gte",
    "<=": "lte",
    "equalsignorecase": "equals_ignore_case",
    "notequals": "not_equals",
    "startswith": "starts_with",
    "endswith": "ends_with",
    "notin": "not_in",
}


def parse_condition(value: Any, field: str) -> Condition:
    if not isinstance(value, Mapping):
        raise InvalidCondition(field, "a condition must be an object")
    groups = [key for key in ("all", "any") if key in value]
    if groups:
        if len(value) != 1:
            raise InvalidCondition(field, "a group has one key, 'all' or 'any'")
        [key] = groups
        items = value[key]
        if not isinstance(items, list) or not items:
            raise InvalidCondition(f"{field}.{key}", "must be a non-empty list of conditions")
        return Condition(
            op=key,
            group=tuple(parse_condition(c, f"{field}.{key}[{i}]") for i, c in enumerate(items)),
        )
    unknown = sorted(set(value) - {"left", "op", "right"})
    if unknown:
        raise InvalidCondition(f"{field}.{unknown[0]}", "is not a field of a condition")
    raw_op = value.get("op")
    if not isinstance(raw_op, str):
        raise InvalidCondition(f"{field}.op", f"must be one of {', '.join(OPERATORS)}")
    # "starts with", "Starts_With" and "startsWith" all name starts_with.
    op = "_".join(raw_op.strip().lower().split())
    op = _ALIASES.get(op, _ALIASES.get(op.replace("_", ""), op))
    if op not in OPERATORS:
        raise InvalidCondition(f"{field}.op", f"{raw_op!r} is not one of {', '.join(OPERATORS)}")
    left = value.get("left")
    if not isinstance(left, str | int | float) or isinstance(left, bool):
        raise InvalidCondition(f"{field}.left", "must be a text or a $(variable)")
    if "right" not in value and op not in _UNARY:
        raise InvalidCondition(f"{field}.right", f"is mandatory for {op}")
    return Condition(op=op, left=str(left), right=value.get("right"))


def evaluate(condition: Condition, scope: Scope) -> bool:
    if condition.op == "all":
        return all(evaluate(c, scope) for c in condition.group)
    if condition.op == "any":
        return any(evaluate(c, scope) for c in condition.group)
    left = scope.text(condition.left)
    right = scope.value(condition.right)
    return OPERATORS[condition.op](left, right)
