"""What a flow's WhatsApp send nodes would send, checked at deploy as the Messaging API checks a
request, so a message that can never be sent is refused when the flow is deployed rather than
failing its runs through onError. Pure: the app's templates are passed in.

A value holding a `$(...)` variable is known only when the node runs, and is checked then. Here
it stands in as a placeholder (each variable read as a short text; a value that is one variable
alone may resolve to any type, so other stand-ins are tried when the text does not fit), and a
problem the stand-in still causes is not reported.

The messages layer stops at a message's first problem. To report the others too, the offending
value is replaced by a stand-in as well (or removed, when no stand-in fits) and the message is
checked again: each problem found so comes from a value the definition really has.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from wanode.codes import SYNC
from wanode.flows.definition import Problem
from wanode.flows.variables import REFERENCE
from wanode.messages import (
    MEDIA_RULES,
    InvalidMessage,
    TemplateDefinition,
    bind_webex,
    parse_wa,
)
from wanode.policy import check_bsuid, normalise_number

# Checks of one message, at most: each finds one problem or tries one stand-in.
MAX_PASSES: Final = 200
_REMOVE: Final = object()
# Stand-ins for a value that must be replaced: a text, a URL (of each media kind's first file
# type, as media links must name one), a number (as itself and as text).
_STAND_INS: Final[tuple[Any, ...]] = (
    "x",
    "https://wanode.invalid/x",
    *dict.fromkeys(f"https://wanode.invalid/x.{r.extensions[0]}" for r in MEDIA_RULES.values()),
    1,
    "1",
    _REMOVE,
)

Parse = Callable[[Any], object]


def template_ids(doc: Any) -> set[str]:
    """The templates the definition's send nodes name without variables (to look up)."""
    found: set[str] = set()
    for _node_id, node in _send_nodes(doc):
        template = node.get("template")
        template_id = (
            _template_id(template.get("template")) if isinstance(template, Mapping) else None
        )
        if template_id is not None:
            found.add(template_id)
    return found


def send_problems(
    doc: Any, *, templates: Mapping[str, TemplateDefinition], app_id: str, require_e164: bool
) -> list[Problem]:
    """Every problem of the definition's send nodes' messages and destinations, by node, in the
    order of the definition. `templates`: the app's synced templates among `template_ids(doc)`.
    """
    problems: list[Problem] = []
    for node_id, node in _send_nodes(doc):
        destination = node.get("destination")
        kind = node.get("destination_type", "waid")
        if (
            kind in ("waid", "bsuid")
            and isinstance(destination, str)
            and destination.strip()
            and not REFERENCE.search(destination)
        ):
            try:
                if kind == "bsuid":
                    check_bsuid(destination, field="destination")
                else:
                    normalise_number(
                        destination.strip(), require_e164=require_e164, field="destination"
                    )
            except InvalidMessage as exc:
                problems.append(_problem(exc, node_id, ""))
        wa = node.get("wa")
        if isinstance(wa, Mapping):
            problems += [_problem(exc, node_id, "wa") for exc in message_problems(wa, parse_wa)]
        template = node.get("template")
        if isinstance(template, Mapping):
            problems += _template_problems(node_id, template, templates, app_id)
    return problems


def message_problems(value: Any, parse: Parse) -> list[InvalidMessage]:
    """The problems `parse` finds in `value` (paths relative to it), its variables read as
    stand-ins; none when it parses."""
    doc = copy.deepcopy(value)
    slots = _Slots(doc)
    found: list[InvalidMessage] = []
    reported: set[str] = set()
    for _ in range(MAX_PASSES):
        try:
            parse(doc)
            return found
        except InvalidMessage as exc:
            slot = slots.get(exc.field)
            if exc.field not in reported and (slot is None or not slot.variable):
                reported.add(exc.field)
                found.append(exc)
            if slot is None or not slot.next():
                # A problem of a whole object or list, or one no stand-in gets past: what
                # follows it cannot be told apart from what it caused.
                return found
    return found


def _template_problems(
    node_id: str,
    template: Mapping[str, Any],
    templates: Mapping[str, TemplateDefinition],
    app_id: str,
) -> list[Problem]:
    given = template.get("template")
    template_id = _template_id(given)
    if template_id is None:
        if isinstance(given, str) and REFERENCE.search(given):
            return []
        return [
            Problem(
                "template.template: the template's id is mandatory",
                node_id,
                "template.template",
                SYNC.MANDATORY_MISSING if given is None else SYNC.INVALID_VALUE,
            )
        ]
    definition = templates.get(template_id)
    if definition is None:
        return [
            Problem(
                f"template.template: {template_id!r} is not a template of app {app_id}",
                node_id,
                "template.template",
                SYNC.INVALID_TEMPLATE_ID,
            )
        ]

    def bind(parameters: Any) -> object:
        return bind_webex(definition, parameters)

    parameters = template.get("parameters")
    if isinstance(parameters, str) and REFERENCE.search(parameters):
        return []
    return [
        _problem(exc, node_id, "template.parameters")
        for exc in message_problems({} if parameters is None else parameters, bind)
    ]


def _problem(exc: InvalidMessage, node_id: str, prefix: str) -> Problem:
    where = exc.under(prefix).field if prefix else exc.field
    return Problem(f"{where}: {exc.reason}", node_id, where, exc.code)


def _send_nodes(doc: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    nodes = doc.get("nodes") if isinstance(doc, Mapping) else None
    if not isinstance(nodes, Mapping):
        return
    for node_id, node in nodes.items():
        if isinstance(node, Mapping) and node.get("type") == "whatsapp":
            yield str(node_id), node


def _template_id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip() and not REFERENCE.search(value):
        return value.strip()
    return None


@dataclass
class _Slot:
    """One scalar of the message being checked: where it is, and the stand-ins left to try."""

    container: dict[str, Any] | list[Any]
    key: str | int
    variable: bool
    stand_ins: list[Any] = field(default_factory=list)

    def next(self) -> bool:
        """Put the next stand-in in place; False when none is left."""
        while self.stand_ins:
            value = self.stand_ins.pop(0)
            if value is _REMOVE:
                if isinstance(self.container, dict):
                    self.container.pop(str(self.key), None)
                    return True
                continue
            self.container[self.key] = value  # type: ignore[index]
            return True
        return False


class _Slots:
    """The scalars of a JSON document by their error path (`a.b[0].c`), variables replaced by
    stand-ins in place."""

    def __init__(self, doc: Any) -> None:
        self._slots: dict[str, _Slot] = {}
        self._counter = 0
        self._walk(doc, "")

    def get(self, path: str) -> _Slot | None:
        return self._slots.get(path)

    def _walk(self, value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key in list(value):
                child = f"{path}.{key}" if path else str(key)
                self._visit(value, key, child)
        elif isinstance(value, list):
            for index in range(len(value)):
                self._visit(value, index, f"{path}[{index}]")

    def _visit(self, container: dict[str, Any] | list[Any], key: Any, path: str) -> None:
        value = container[key]
        if isinstance(value, dict | list):
            self._walk(value, path)
            return
        variable = isinstance(value, str) and REFERENCE.search(value) is not None
        stand_ins = list(_STAND_INS)
        if variable:
            # Distinct texts, so that variables standing for distinct ids do not clash.
            self._counter += 1
            container[key] = REFERENCE.sub(f"x{self._counter}", value)
            # A text around a variable stays a text; a variable alone may be of any type.
            stand_ins = list(_STAND_INS[1:]) if REFERENCE.fullmatch(value) else [_REMOVE]
        self._slots[path] = _Slot(container, key, variable, stand_ins)
