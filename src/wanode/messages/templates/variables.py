"""Template variables: the `{{...}}` placeholders of a header, body or URL button."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
_DIGITS = re.compile(r"[0-9]+")
POSITIONAL_NAME = re.compile(r"[1-9][0-9]*")
NAMED_NAME = re.compile(r"[a-z_]+")  # cloud-api.md §2: lower-case letters and underscores


def variables(text: str | None) -> tuple[str, ...]:
    """The distinct variable names in `text`, in the order their values are sent.

    Positional variables (all names digits) go by number, as Meta takes their values in order;
    named ones by first appearance. Names are kept as written (`{{ 1 }}` is ` 1 `, which the
    creation rules refuse); a template read back from Meta is listed as it is.
    """
    if not text:
        return ()
    names = tuple(dict.fromkeys(_PLACEHOLDER.findall(text)))
    if names and all(_DIGITS.fullmatch(name) for name in names):
        return tuple(sorted(names, key=int))
    return names


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with every variable that has a value replaced by it (others stay as written)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
