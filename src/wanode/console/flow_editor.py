"""The flow editor's text: a definition read from YAML or JSON as the deploy route reads it, and
written back as YAML for editing. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
import yaml

from wanode.codes import SYNC
from wanode.flows import Problem
from wanode.flows.source import load_yaml

_BOOL: Final = "tag:yaml.org,2002:bool"

# What "New flow" opens with: a flow that deploys as it is, once its destination is filled in.
STARTER: Final = """\
id: my-flow
name: My flow
variables:
  waid: ""
nodes:
  start:
    type: start
    on: {onStart: hello}
  hello:
    type: whatsapp
    destination: $(waid)
    wa: {type: text, text: {body: Hello from wanode}}
    on: {onSuccess: done}
  done:
    type: end
"""


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML has no type hints here
    """Writes `on:` and `yes` unquoted: the loader reads them with YAML 1.2's booleans
    (`wanode.flows.source`), so only true and false need no quotes to stay text."""


_Dumper.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
}
_Dumper.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Source:
    """The editor's text read: the document, or the problem that stopped it being read."""

    doc: Any
    problem: Problem | None = None


def read(text: str) -> Source:
    """A definition from the editor: JSON when it starts with `{`, YAML otherwise."""
    stripped = text.strip()
    if not stripped:
        return Source(None, Problem("the definition is empty", code=SYNC.MANDATORY_MISSING))
    if stripped.startswith("{"):
        try:
            return Source(orjson.loads(stripped))
        except orjson.JSONDecodeError as exc:
            return Source(None, Problem(f"not valid JSON: {exc}", code=SYNC.INVALID_JSON))
    try:
        doc = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        return Source(None, Problem(f"not valid YAML{where}: {reason}", code=SYNC.INVALID_JSON))
    return Source(doc)


def dump(definition: Mapping[str, Any]) -> str:
    """A stored definition as YAML, keys in their stored order."""
    text: str = yaml.dump(
        dict(definition),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return text


def by_node(problems: Sequence[Problem]) -> dict[str, list[Problem]]:
    """The problems pinned to each node id (those of the flow as a whole are not)."""
    pinned: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.node:
            pinned.setdefault(problem.node, []).append(problem)
    return pinned
