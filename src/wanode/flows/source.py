"""Reading a flow definition written in YAML. Pure.

PyYAML follows YAML 1.1, where `on`, `off`, `yes`, `no`, `y` and `n` are booleans: a node's
`on:` (its outcome edges) would become the key `True`, and `right: yes` in a condition the
value true. Definitions are read with YAML 1.2's booleans instead: only true and false.
"""

from __future__ import annotations

import re
from typing import Any, Final

import yaml

_BOOL: Final = "tag:yaml.org,2002:bool"


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no type hints here
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str | bytes) -> Any:
    """The document in `text`; raises `yaml.YAMLError` when it is not valid YAML."""
    return yaml.load(text, Loader=_Loader)
