"""The parts of a template definition (Graph JSON `components`), read from and written to Graph.

Each part keeps what Meta says about it and renders back to the create request (cloud-api.md
§3.1). Types are Meta's upper-case names; lower case is read too. Examples are kept as
(variable name, example) pairs: a positional example list gets the names "1", "2"... in order,
a named one keeps its `param_name`s, and each renders back in the template's own format.

Nothing here applies Meta's creation rules (see `creation.check_creation`): a definition read
back from Meta may break them and still be read, listed and, if approved, sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from wanode.codes import SYNC
from wanode.messages._fields import at
from wanode.messages.errors import InvalidMessage
from wanode.messages.templates._graph import Reader, raw, unraw
from wanode.messages.templates.enums import HeaderFormat, OtpType, ParameterFormat
from wanode.messages.templates.variables import variables

Examples = tuple[tuple[str, str], ...]


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else ()


@dataclass(frozen=True)
class Header:
    """TEXT (with at most one variable), IMAGE, VIDEO, DOCUMENT or LOCATION.

    `handles` are the media examples (`example.header_handle`) of a media header.
    """

    format: HeaderFormat = HeaderFormat.TEXT
    text: str | None = None
    examples: Examples = ()
    handles: tuple[str, ...] = ()

    type: ClassVar[str] = "HEADER"

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", HeaderFormat.of(self.format))
        object.__setattr__(self, "examples", _tuple(self.examples))
        object.__setattr__(self, "handles", _tuple(self.handles))

    @property
    def variables(self) -> tuple[str, ...]:
        return variables(self.text) if self.format is HeaderFormat.TEXT else ()

    def to_graph(self, parameter_format: ParameterFormat) -> dict[str, Any]:
        graph: dict[str, Any] = {"type": self.type, "format": self.format.value}
        if self.text is not None:
            graph["text"] = self.text
        example: dict[str, Any] = {}
        if self.examples:
            if parameter_format is ParameterFormat.NAMED:
                example["header_text_named_params"] = _named(self.examples)
            else:
                example["header_text"] = [value for _, value in self.examples]
        if self.handles:
            example["header_handle"] = list(self.handles)
        if example:
            graph["example"] = example
        return graph


@dataclass(frozen=True)
class Body:
    """The message text, up to 1024 characters with any number of variables.

    In an AUTHENTICATION template Meta writes the text; the create request only says whether to
    add the security recommendation.
    """

    text: str | None = None
    examples: Examples = ()
    add_security_recommendation: bool | None = None

    type: ClassVar[str] = "BODY"

    def __post_init__(self) -> None:
        object.__setattr__(self, "examples", _tuple(self.examples))

    @property
    def variables(self) -> tuple[str, ...]:
        return variables(self.text)

    def to_graph(
        self, parameter_format: ParameterFormat, *, authentication: bool
    ) -> dict[str, Any]:
        graph: dict[str, Any] = {"type": self.type}
        if authentication:
            if self.add_security_recommendation is not None:
                graph["add_security_recommendation"] = self.add_security_recommendation
            return graph
        if self.text is not None:
            graph["text"] = self.text
        if self.examples:
            if parameter_format is ParameterFormat.NAMED:
                graph["example"] = {"body_text_named_params": _named(self.examples)}
            else:
                graph["example"] = {"body_text": [[value for _, value in self.examples]]}
        return graph


@dataclass(frozen=True)
class Footer:
    """Static text up to 60 characters; AUTHENTICATION footers give the code's expiry instead."""

    text: str | None = None
    code_expiration_minutes: int | None = None

    type: ClassVar[str] = "FOOTER"

    variables: ClassVar[tuple[str, ...]] = ()

    def to_graph(self, *, authentication: bool) -> dict[str, Any]:
        graph: dict[str, Any] = {"type": self.type}
        if authentication:
            if self.code_expiration_minutes is not None:
                graph["code_expiration_minutes"] = self.code_expiration_minutes
        elif self.text is not None:
            graph["text"] = self.text
        return graph


@dataclass(frozen=True)
class QuickReplyButton:
    """A button whose tap comes back as an inbound `button` message with the send's payload."""

    text: str | None = None

    type: ClassVar[str] = "QUICK_REPLY"
    variables: ClassVar[tuple[str, ...]] = ()

    def to_graph(self) -> dict[str, Any]:
        return _without_none({"type": self.type, "text": self.text})


@dataclass(frozen=True)
class UrlButton:
    """Visit website: a static URL, or one ending in `{{1}}` whose suffix each send gives."""

    text: str | None = None
    url: str | None = None
    example: str | None = None

    type: ClassVar[str] = "URL"

    @property
    def variables(self) -> tuple[str, ...]:
        return variables(self.url)

    def to_graph(self) -> dict[str, Any]:
        graph = _without_none({"type": self.type, "text": self.text, "url": self.url})
        if self.example is not None:
            graph["example"] = [self.example]
        return graph


@dataclass(frozen=True)
class PhoneNumberButton:
    text: str | None = None
    phone_number: str | None = None

    type: ClassVar[str] = "PHONE_NUMBER"
    variables: ClassVar[tuple[str, ...]] = ()

    def to_graph(self) -> dict[str, Any]:
        return _without_none(
            {"type": self.type, "text": self.text, "phone_number": self.phone_number}
        )


@dataclass(frozen=True)
class CopyCodeButton:
    """Copies a coupon code each send gives; `example` is the sample code (at most 15)."""

    example: str | None = None
    text: str | None = None  # Meta writes the label ("Copy offer code")

    type: ClassVar[str] = "COPY_CODE"
    variables: ClassVar[tuple[str, ...]] = ()

    def to_graph(self) -> dict[str, Any]:
        return _without_none({"type": self.type, "example": self.example})


@dataclass(frozen=True)
class SupportedApp:
    """An Android app a ONE_TAP (autofill) button hands the code to."""

    package_name: str
    signature_hash: str

    def to_graph(self) -> dict[str, Any]:
        return {"package_name": self.package_name, "signature_hash": self.signature_hash}


@dataclass(frozen=True)
class OtpButton:
    """The code button of an AUTHENTICATION template: copy code, or autofill (ONE_TAP).

    Meta's older flat `package_name`/`signature_hash` fields read as one supported app; the
    create request is written with `supported_apps`.
    """

    otp_type: OtpType = OtpType.COPY_CODE
    text: str | None = None
    autofill_text: str | None = None
    supported_apps: tuple[SupportedApp, ...] = ()

    type: ClassVar[str] = "OTP"
    variables: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "otp_type", OtpType.of(self.otp_type))
        object.__setattr__(self, "supported_apps", _tuple(self.supported_apps))

    def to_graph(self) -> dict[str, Any]:
        graph = _without_none(
            {
                "type": self.type,
                "otp_type": self.otp_type.value,
                "text": self.text,
                "autofill_text": self.autofill_text,
            }
        )
        if self.supported_apps:
            graph["supported_apps"] = [app.to_graph() for app in self.supported_apps]
        return graph


@dataclass(frozen=True)
class OtherButton:
    """A button type wanode does not model (FLOW, MPM, CATALOG...), kept as Meta gave it."""

    type: str
    raw: str  # the button's JSON text
    text: str | None = None

    variables: ClassVar[tuple[str, ...]] = ()

    def to_graph(self) -> dict[str, Any]:
        return unraw(self.raw)


Button = QuickReplyButton | UrlButton | PhoneNumberButton | CopyCodeButton | OtpButton | OtherButton


@dataclass(frozen=True)
class Buttons:
    buttons: tuple[Button, ...] = ()

    type: ClassVar[str] = "BUTTONS"
    variables: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "buttons", _tuple(self.buttons))

    def to_graph(self) -> dict[str, Any]:
        return {"type": self.type, "buttons": [button.to_graph() for button in self.buttons]}


@dataclass(frozen=True)
class UnknownComponent:
    """A component type wanode does not model (CAROUSEL, LIMITED_TIME_OFFER...), kept as is."""

    type: str
    raw: str  # the component's JSON text

    variables: ClassVar[tuple[str, ...]] = ()

    def to_graph(self) -> dict[str, Any]:
        return unraw(self.raw)


Component = Header | Body | Footer | Buttons | UnknownComponent

_KINDS = ("HEADER", "BODY", "FOOTER", "BUTTONS")
_BUTTON_KINDS = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP")


def component_from_graph(value: Any, reader: Reader) -> Component:
    """One item of a Graph `components` array."""
    kind = _kind(value, reader, _KINDS)
    if kind == "HEADER":
        return _header(reader.object(value, ("type", "format", "text", "example")), reader)
    if kind == "BODY":
        keys = ("type", "text", "example", "add_security_recommendation")
        return _body(reader.object(value, keys), reader)
    if kind == "FOOTER":
        data = reader.object(value, ("type", "text", "code_expiration_minutes"))
        return Footer(
            text=reader.string(data, "text"),
            code_expiration_minutes=reader.integer(data, "code_expiration_minutes"),
        )
    if kind == "BUTTONS":
        data = reader.object(value, ("type", "buttons"))
        items = []
        for index, item in enumerate(reader.array(data, "buttons")):
            with at(f"buttons[{index}]"):
                items.append(_button(item, reader))
        return Buttons(tuple(items))
    return UnknownComponent(kind, raw(value))


def _kind(value: Any, reader: Reader, kinds: tuple[str, ...]) -> str:
    """The upper-cased `type`; strict reading refuses one outside `kinds`."""
    kind = value.get("type") if isinstance(value, dict) else None
    if reader.strict:
        if not isinstance(value, dict):
            raise InvalidMessage("", "must be an object")
        if kind is None:
            raise InvalidMessage("type", "is mandatory", code=SYNC.MANDATORY_MISSING)
        if not isinstance(kind, str) or kind.upper() not in kinds:
            raise InvalidMessage("type", f"must be one of {', '.join(kinds)}; got {kind!r}")
    return kind.upper() if isinstance(kind, str) else ""


def _header(data: dict[str, Any], reader: Reader) -> Header:
    with at("example"):
        example = reader.object(
            data.get("example", {}),
            ("header_text", "header_text_named_params", "header_handle"),
        )
        examples = _examples(example, reader, "header_text", "header_text_named_params")
        handles: tuple[str, ...] = ()
        if "header_handle" in example:
            handles = reader.strings(example["header_handle"], "header_handle")
    header_format = reader.string(data, "format")
    if header_format is None:
        if reader.strict:
            raise InvalidMessage("format", "is mandatory", code=SYNC.MANDATORY_MISSING)
        header_format = HeaderFormat.TEXT
    if reader.strict and HeaderFormat.of(header_format) is HeaderFormat.UNKNOWN:
        known = ", ".join(f for f in HeaderFormat if f is not HeaderFormat.UNKNOWN)
        raise InvalidMessage("format", f"must be one of {known}; got {header_format!r}")
    return Header(
        format=HeaderFormat.of(header_format),
        text=reader.string(data, "text"),
        examples=examples,
        handles=handles,
    )


def _body(data: dict[str, Any], reader: Reader) -> Body:
    with at("example"):
        example = reader.object(data.get("example", {}), ("body_text", "body_text_named_params"))
        examples: Examples = ()
        if "body_text" in example:
            # An array holding one array of examples, one per variable.
            rows = example["body_text"]
            if isinstance(rows, list) and len(rows) == 1:
                with at("body_text[0]"):
                    examples = _numbered(reader.strings(rows[0], ""))
            elif reader.strict:
                raise InvalidMessage("body_text", "must be an array holding one array of examples")
        else:
            examples = _examples(example, reader, "", "body_text_named_params")
    return Body(
        text=reader.string(data, "text"),
        examples=examples,
        add_security_recommendation=reader.boolean(data, "add_security_recommendation"),
    )


def _examples(data: dict[str, Any], reader: Reader, positional: str, named: str) -> Examples:
    if positional and positional in data:
        return _numbered(reader.strings(data[positional], positional))
    if named not in data:
        return ()
    pairs = []
    with at(named):
        items = data[named]
        if not isinstance(items, list):
            if reader.strict:
                raise InvalidMessage("", "must be an array")
            return ()
        for index, item in enumerate(items):
            with at(f"[{index}]"):
                pair = reader.object(item, ("param_name", "example"))
                name, example = reader.string(pair, "param_name"), reader.string(pair, "example")
                if name is not None and example is not None:
                    pairs.append((name, example))
                elif reader.strict:
                    missing = "param_name" if name is None else "example"
                    raise InvalidMessage(missing, "is mandatory", code=SYNC.MANDATORY_MISSING)
    return tuple(pairs)


def _numbered(values: tuple[str, ...]) -> Examples:
    return tuple((str(number), value) for number, value in enumerate(values, start=1))


def _button(value: Any, reader: Reader) -> Button:
    kind = _kind(value, reader, _BUTTON_KINDS)
    if kind == "QUICK_REPLY":
        data = reader.object(value, ("type", "text"))
        return QuickReplyButton(text=reader.string(data, "text"))
    if kind == "URL":
        data = reader.object(value, ("type", "text", "url", "example"))
        return UrlButton(
            text=reader.string(data, "text"),
            url=reader.string(data, "url"),
            example=_one_example(data, reader),
        )
    if kind == "PHONE_NUMBER":
        data = reader.object(value, ("type", "text", "phone_number"))
        return PhoneNumberButton(
            text=reader.string(data, "text"), phone_number=reader.string(data, "phone_number")
        )
    if kind == "COPY_CODE":
        data = reader.object(value, ("type", "text", "example"))
        return CopyCodeButton(example=_one_example(data, reader), text=reader.string(data, "text"))
    if kind == "OTP":
        return _otp(value, reader)
    data = value if isinstance(value, dict) else {}
    text = data.get("text")
    return OtherButton(kind, raw(value), text if isinstance(text, str) else None)


def _one_example(data: dict[str, Any], reader: Reader) -> str | None:
    """`example` as one string: URL buttons give `["x"]`, COPY_CODE buttons `"x"`."""
    example = data.get("example")
    if isinstance(example, str):
        return example
    if isinstance(example, list) and len(example) == 1 and isinstance(example[0], str):
        return example[0]
    if example is not None and reader.strict:
        raise InvalidMessage("example", "must be one example (a string or an array of one)")
    return None


def _otp(value: Any, reader: Reader) -> OtpButton:
    keys = ("type", "otp_type", "text", "autofill_text", "package_name", "signature_hash")
    data = reader.object(value, (*keys, "supported_apps"))
    otp_type = reader.string(data, "otp_type")
    if reader.strict and otp_type is None:
        raise InvalidMessage("otp_type", "is mandatory", code=SYNC.MANDATORY_MISSING)
    apps = []
    with at("supported_apps"):
        for index, item in enumerate(reader.array(data, "supported_apps")):
            with at(f"[{index}]"):
                app = _app(reader.object(item, ("package_name", "signature_hash")), reader)
            if app is not None:
                apps.append(app)
    flat = _app(data, reader) if "package_name" in data or "signature_hash" in data else None
    if flat is not None:
        apps.insert(0, flat)
    return OtpButton(
        otp_type=OtpType.of(otp_type),
        text=reader.string(data, "text"),
        autofill_text=reader.string(data, "autofill_text"),
        supported_apps=tuple(apps),
    )


def _app(data: dict[str, Any], reader: Reader) -> SupportedApp | None:
    package, signature = reader.string(data, "package_name"), reader.string(data, "signature_hash")
    if package is not None and signature is not None:
        return SupportedApp(package, signature)
    if reader.strict:
        missing = "package_name" if package is None else "signature_hash"
        raise InvalidMessage(missing, "is mandatory", code=SYNC.MANDATORY_MISSING)
    return None


def _named(examples: Examples) -> list[dict[str, str]]:
    return [{"param_name": name, "example": value} for name, value in examples]


def _without_none(graph: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in graph.items() if value is not None}
