"""A message template as Meta holds it: what it says, where its variables are, its review state.

`TemplateDefinition.from_graph` reads an item of `GET /{waba_id}/message_templates` (or a
template node) leniently: Meta's data is taken as it comes, unknown words become `UNKNOWN` and
unknown parts are kept as raw JSON, so listing templates never fails on a newer or odder one.
Only a missing `name` or `language` is refused: such an item cannot be told apart from others.
`to_graph` writes the create request (cloud-api.md §3.1); `creation.parse_create` reads one
strictly and applies Meta's creation rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from wanode.codes import SYNC
from wanode.messages._fields import at, text
from wanode.messages.errors import InvalidMessage
from wanode.messages.templates._graph import Reader
from wanode.messages.templates.components import (
    Body,
    Button,
    Buttons,
    Component,
    Footer,
    Header,
    UnknownComponent,
    component_from_graph,
)
from wanode.messages.templates.enums import (
    ParameterFormat,
    TemplateCategory,
    TemplateQuality,
    TemplateStatus,
)

C = TypeVar("C", Header, Body, Footer, Buttons)

_COMPONENT_TYPES = (Header, Body, Footer, Buttons, UnknownComponent)
CREATE_KEYS = (
    "name",
    "language",
    "category",
    "parameter_format",
    "components",
    "message_send_ttl_seconds",
)
_READ_KEYS = ("id", "status", "rejected_reason", "quality_score")


@dataclass(frozen=True, kw_only=True)
class TemplateDefinition:
    """One template in one language. `id` is Meta's template id (None before it is created).

    `status` is UNKNOWN until Meta has given one (a definition built for a create request).

    `rejected_reason` is Meta's reason word (`INVALID_FORMAT`...); Meta's `NONE` reads as None.
    """

    name: str
    language: str
    category: TemplateCategory
    components: tuple[Component, ...]
    parameter_format: ParameterFormat = ParameterFormat.POSITIONAL
    id: str | None = None
    status: TemplateStatus = TemplateStatus.UNKNOWN
    rejected_reason: str | None = None
    quality: TemplateQuality = TemplateQuality.UNKNOWN
    message_send_ttl_seconds: int | None = None

    def __post_init__(self) -> None:
        text("name", self.name)
        text("language", self.language)
        object.__setattr__(self, "category", TemplateCategory.of(self.category))
        object.__setattr__(self, "parameter_format", ParameterFormat.of(self.parameter_format))
        object.__setattr__(self, "status", TemplateStatus.of(self.status))
        object.__setattr__(self, "quality", TemplateQuality.of(self.quality))
        if not isinstance(self.components, list | tuple):
            raise InvalidMessage("components", "must be a list")
        for index, component in enumerate(self.components):
            if not isinstance(component, _COMPONENT_TYPES):
                raise InvalidMessage(f"components[{index}]", "must be a template component")
        object.__setattr__(self, "components", tuple(self.components))

    @property
    def is_authentication(self) -> bool:
        return self.category is TemplateCategory.AUTHENTICATION

    def find(self, kind: type[C]) -> tuple[int, C] | None:
        """The first component of `kind` with its index in `components`, or None."""
        for index, component in enumerate(self.components):
            if isinstance(component, kind):
                return index, component
        return None

    @property
    def header(self) -> Header | None:
        found = self.find(Header)
        return None if found is None else found[1]

    @property
    def body(self) -> Body | None:
        found = self.find(Body)
        return None if found is None else found[1]

    @property
    def footer(self) -> Footer | None:
        found = self.find(Footer)
        return None if found is None else found[1]

    @property
    def buttons(self) -> tuple[Button, ...]:
        found = self.find(Buttons)
        return () if found is None else found[1].buttons

    def variables(self) -> dict[str, tuple[str, ...]]:
        """Each part that has variables, by its path, with its variable names in send order.

        `{"components[0]": ("1",), "components[1]": ("1", "2"), "components[3].buttons[0]":
        ("1",)}` for a header, a body and a dynamic URL button.
        """
        return {path: names for path, names in self._parts() if names}

    def _parts(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        for index, component in enumerate(self.components):
            yield f"components[{index}]", component.variables
            if isinstance(component, Buttons):
                for number, button in enumerate(component.buttons):
                    yield f"components[{index}].buttons[{number}]", button.variables

    @classmethod
    def from_graph(cls, value: Any) -> TemplateDefinition:
        """Read a template as Meta returns it (lenient; see the module's docstring)."""
        return read_graph(value, Reader(strict=False))

    def to_graph(self) -> dict[str, Any]:
        """The create request body (`POST /{waba_id}/message_templates`)."""
        auth = self.is_authentication
        components = []
        for component in self.components:
            if isinstance(component, Header):
                components.append(component.to_graph(self.parameter_format))
            elif isinstance(component, Body):
                components.append(component.to_graph(self.parameter_format, authentication=auth))
            elif isinstance(component, Footer):
                components.append(component.to_graph(authentication=auth))
            else:
                components.append(component.to_graph())
        graph: dict[str, Any] = {
            "name": self.name,
            "language": self.language,
            "category": self.category.value,
            "parameter_format": self.parameter_format.value,
            "components": components,
        }
        if self.message_send_ttl_seconds is not None:
            graph["message_send_ttl_seconds"] = self.message_send_ttl_seconds
        return graph


def read_graph(value: Any, reader: Reader) -> TemplateDefinition:
    """A definition from Graph JSON; strict reading refuses unknown keys and wrong JSON types."""
    if not isinstance(value, dict):
        raise InvalidMessage("", "must be an object")
    data = reader.object(value, CREATE_KEYS if reader.strict else (*CREATE_KEYS, *_READ_KEYS))
    for key in ("name", "language"):
        if key not in data:
            raise InvalidMessage(key, "is mandatory", code=SYNC.MANDATORY_MISSING)
        if not isinstance(data[key], str):
            raise InvalidMessage(key, "must be a string")
    category = _word(data, "category", TemplateCategory, reader)
    if category is None:
        if reader.strict:
            raise InvalidMessage("category", "is mandatory", code=SYNC.MANDATORY_MISSING)
        category = TemplateCategory.UNKNOWN
    components = []
    for index, item in enumerate(reader.array(data, "components")):
        with at(f"components[{index}]"):
            components.append(component_from_graph(item, reader))
    template_id = data.get("id")
    quality = Reader(strict=False).object(data.get("quality_score"), ("score",))
    reason = reader.string(data, "rejected_reason")
    return TemplateDefinition(
        id=str(template_id) if isinstance(template_id, str | int) else None,
        name=data["name"],
        language=data["language"],
        category=category,
        parameter_format=_word(data, "parameter_format", ParameterFormat, reader)
        or ParameterFormat.POSITIONAL,
        components=tuple(components),
        status=TemplateStatus.of(data.get("status")),
        rejected_reason=None if reason in (None, "NONE") else reason,
        quality=TemplateQuality.of(quality.get("score")),
        message_send_ttl_seconds=reader.integer(data, "message_send_ttl_seconds"),
    )


E = TypeVar("E", TemplateCategory, ParameterFormat)


def _word(data: dict[str, Any], key: str, vocabulary: type[E], reader: Reader) -> E | None:
    """A vocabulary value; strict reading refuses one the vocabulary does not have."""
    word = reader.string(data, key)
    if word is None:
        return None
    value = vocabulary.of(word)
    if reader.strict and value.value == "UNKNOWN":
        known = ", ".join(v for v in vocabulary if v.value != "UNKNOWN")
        raise InvalidMessage(key, f"must be one of {known}; got {word!r}")
    return value
