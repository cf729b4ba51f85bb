"""Reading a template send's parameters, in either request shape, into a `TemplateMessage`.

- `bind_webex`: the Messaging API `message.parameters` object (webex-connect.md §1.4), keyed by
  parameter name (see `message`): a text variable takes a string or
  `{type: "currency", currency_code, amount_1000, fallback_value?}` /
  `{type: "date_time", timestamp, fallback_value?}` (`amount_1000` and `timestamp` as numbers
  or digit strings); `image` / `video` / `document` take `{link, filename?}` (filename for
  documents); `location` takes `{latitude, longitude, name?, address?}`; `url_<index>` takes
  `{type: "url", payload}`; `quickReply` takes `[{button_text?, payload}]` in button order;
  `otp` (or `OTP`, the spec's name) takes `{type: "otp", value}`; `couponCode` takes the
  code as a string.
- `bind_native`: the Cloud API `template` object (cloud-api.md §2) whose `name` and
  `language.code` must be the definition's. Quick-reply payloads are required here as in the
  Webex shape (every parameter is), so every tap can be told apart.

Both check the template is APPROVED first, then every value against the definition; errors
carry the path in the shape read (`first_name.currency_code`, `components[1].parameters[0]`).
Header documents may be any format the spec lists for templates (TXT, PDF, Office), not only
the PDF of Meta's OpenAPI document: the spec wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from wanode.codes import SYNC
from wanode.messages._fields import at, obj, renamed
from wanode.messages.envelope import Envelope
from wanode.messages.errors import InvalidMessage
from wanode.messages.location import Location
from wanode.messages.media import parse_media
from wanode.messages.templates.components import (
    CopyCodeButton,
    OtpButton,
    QuickReplyButton,
    UrlButton,
)
from wanode.messages.templates.definition import TemplateDefinition
from wanode.messages.templates.enums import ParameterFormat
from wanode.messages.templates.failures import Failure, code_for
from wanode.messages.templates.message import (
    Slot,
    SlotKind,
    TemplateMessage,
    check_sendable,
    slots,
)
from wanode.messages.templates.values import (
    CouponCode,
    Currency,
    DateTime,
    Otp,
    QuickReply,
    TextValue,
    UrlSuffix,
)

OTP_SPEC_NAME = "OTP"
_WEBEX_MEDIA_KEYS = {"link": "link", "filename": "filename"}
_NATIVE_MEDIA_KEYS = {"link": "link", "id": "id", "filename": "filename"}
_INTEGER = re.compile(r"-?[0-9]+")
_LAST_SEGMENT = re.compile(r"(\.[^.\[]*|\[[0-9]+\])$")


def bind_webex(
    definition: TemplateDefinition, parameters: Any, *, envelope: Envelope = Envelope()
) -> TemplateMessage:
    """A send of `definition` with the Messaging API `message.parameters` (None: no parameters)."""
    check_sendable(definition)
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise InvalidMessage("", "must be an object")
    by_name = {slot.name: slot for slot in slots(definition)}
    values: dict[str, Any] = {}
    for given, value in parameters.items():
        key = _webex_name(given, by_name)
        if key != given and key in parameters:
            raise InvalidMessage(
                given,
                f"names the same parameter as {key!r}; give only one of them",
                code=code_for(Failure.COUNT_MISMATCH),
            )
        slot = by_name.get(key)
        with at(given):
            values[key] = value if slot is None else _WEBEX[slot.kind](slot, value)
    # An error found on the whole message names the parameter as the caller wrote it.
    with renamed({"otp": OTP_SPEC_NAME} if OTP_SPEC_NAME in parameters else {}):
        return TemplateMessage(definition=definition, parameters=values, envelope=envelope)


def _webex_name(given: str, by_name: dict[str, Slot]) -> str:
    """The parameter `given` names: the spec calls an AUTHENTICATION template's code `OTP`, the
    Messaging API reference `otp`; both are taken (a NAMED variable is lower case, so `OTP`
    can be nothing else)."""
    if given == OTP_SPEC_NAME and given not in by_name and "otp" in by_name:
        return "otp"
    return given


def _webex_text(slot: Slot, value: Any) -> TextValue:
    if isinstance(value, str):
        return value
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "currency":
        data = obj(
            value,
            ("type", "currency_code", "amount_1000", "fallback_value"),
            required=("currency_code", "amount_1000"),
        )
        with renamed({"code": "currency_code"}):
            return Currency(
                code=data["currency_code"],
                amount_1000=_integer("amount_1000", data["amount_1000"]),
                fallback_value=data.get("fallback_value"),
            )
    if kind == "date_time":
        data = obj(value, ("type", "timestamp", "fallback_value"), required=("timestamp",))
        return DateTime(
            timestamp=_integer("timestamp", data["timestamp"]),
            fallback_value=data.get("fallback_value"),
        )
    got = f"type {kind!r}" if kind is not None else _json_type(value)
    raise _mismatch(slot, f"text, {{type: currency}} or {{type: date_time}}; got {got}")


def _webex_media(slot: Slot, value: Any) -> Any:
    if not isinstance(value, dict):
        raise _mismatch(slot, f"{{link, filename?}}; got {_json_type(value)}")
    return _media(slot.name, value, _WEBEX_MEDIA_KEYS)


def _webex_location(slot: Slot, value: Any) -> Location:
    if not isinstance(value, dict):
        raise _mismatch(slot, f"{{latitude, longitude, name?, address?}}; got {_json_type(value)}")
    return Location.from_json(value)


def _webex_url(slot: Slot, value: Any) -> UrlSuffix:
    data = _typed(slot, value, "url", ("type", "payload"))
    with renamed({"text": "payload"}):
        payload: Any = data.get("payload")
        return UrlSuffix(payload)


def _webex_quick_replies(slot: Slot, value: Any) -> tuple[QuickReply, ...]:
    if not isinstance(value, list):
        raise _mismatch(slot, f"[{{button_text, payload}}]; got {_json_type(value)}")
    replies = []
    for index, item in enumerate(value):
        with at(f"[{index}]"):
            data = obj(item, ("button_text", "payload"), required=("payload",))
            replies.append(QuickReply(data["payload"], data.get("button_text")))
    return tuple(replies)


def _webex_otp(slot: Slot, value: Any) -> Otp:
    data = _typed(slot, value, "otp", ("type", "value"))
    with renamed({"code": "value"}):
        code: Any = data.get("value")
        return Otp(code)


def _webex_coupon(slot: Slot, value: Any) -> CouponCode:
    if not isinstance(value, str):
        raise _mismatch(slot, f"the code as text; got {_json_type(value)}")
    with renamed({"code": ""}):
        return CouponCode(value)


_WEBEX: dict[SlotKind, Callable[[Slot, Any], Any]] = {
    SlotKind.HEADER_TEXT: _webex_text,
    SlotKind.BODY: _webex_text,
    SlotKind.HEADER_MEDIA: _webex_media,
    SlotKind.HEADER_LOCATION: _webex_location,
    SlotKind.URL: _webex_url,
    SlotKind.QUICK_REPLIES: _webex_quick_replies,
    SlotKind.OTP: _webex_otp,
    SlotKind.COUPON: _webex_coupon,
}


def bind_native(
    definition: TemplateDefinition, template: Any, *, envelope: Envelope = Envelope()
) -> TemplateMessage:
    """A send of `definition` with a Cloud API `template` object."""
    check_sendable(definition)
    data = obj(template, ("name", "language", "components"), required=("name", "language"))
    inactive = code_for(Failure.INACTIVE)
    if data["name"] != definition.name:
        raise InvalidMessage(
            "name", f"must be the template's name, {definition.name!r}", code=inactive
        )
    with at("language"):
        language = obj(data["language"], ("code", "policy"), required=("code",))
        if language.get("policy", "deterministic") != "deterministic":
            raise InvalidMessage("policy", 'must be "deterministic"')
        if language["code"] != definition.language:
            raise InvalidMessage(
                "code",
                f"{language['code']!r}: this template is in {definition.language!r}",
                code=inactive,
            )
    components = data.get("components", [])
    if not isinstance(components, list):
        raise InvalidMessage("components", "must be an array")
    reader = _NativeReader(definition)
    for index, component in enumerate(components):
        with at(f"components[{index}]"):
            reader.component(index, component)
    values, paths = reader.finish()
    try:
        return TemplateMessage(definition=definition, parameters=values, envelope=envelope)
    except InvalidMessage as error:
        raise _translated(error, paths) from None


class _NativeReader:
    """Collects the values of a native `components` array under their parameter names.

    `paths` maps each parameter name to where its value was read, so that errors raised by
    `TemplateMessage` (which speaks parameter names) are reported at the native path.
    """

    def __init__(self, definition: TemplateDefinition) -> None:
        self.definition = definition
        self.slots = slots(definition)
        self.named = definition.parameter_format is ParameterFormat.NAMED
        self.values: dict[str, Any] = {}
        self.paths: dict[str, str] = {}
        self.components: dict[str, int] = {}  # header/body -> index in the request
        self.buttons: dict[int, tuple[str, Any]] = {}  # button index -> (path, value)
        self.otp_body: tuple[str, Otp] | None = None

    def component(self, index: int, value: Any) -> None:
        kinds = ("header", "body", "button")
        data = obj(value, ("type", "sub_type", "index", "parameters"), required=("type",))
        kind = data["type"]
        if kind not in kinds:
            raise InvalidMessage("type", f"must be one of {', '.join(kinds)}; got {kind!r}")
        parameters = data.get("parameters", [])
        if not isinstance(parameters, list):
            raise InvalidMessage("parameters", "must be an array")
        if kind == "button":
            self._button(index, data, parameters)
            return
        for key in ("sub_type", "index"):
            if key in data:
                raise InvalidMessage(key, "only button components take one")
        if kind in self.components:
            raise InvalidMessage(
                "type", f"a second {kind} component", code=code_for(Failure.COUNT_MISMATCH)
            )
        self.components[kind] = index
        if kind == "header":
            self._header(index, parameters)
        else:
            self._body(index, parameters)

    def _header(self, index: int, parameters: list[Any]) -> None:
        header = next((s for s in self.slots if s.kind.name.startswith("HEADER_")), None)
        if header is None:
            raise InvalidMessage(
                "parameters",
                "the template's header takes no parameters",
                code=code_for(Failure.COUNT_MISMATCH),
            )
        if len(parameters) != 1:
            raise InvalidMessage(
                "parameters",
                f"has {len(parameters)} parameters; the header takes one",
                code=code_for(Failure.COUNT_MISMATCH),
            )
        with at("parameters[0]"):
            name, value = self._header_parameter(header, parameters[0])
        self.values[name] = value
        self.paths[name] = f"components[{index}].parameters[0]"

    def _header_parameter(self, slot: Slot, value: Any) -> tuple[str, Any]:
        kind = _parameter_type(value)
        if slot.kind is SlotKind.HEADER_TEXT:
            return slot.name, self._text(slot, value)
        if kind != slot.name:
            raise _mismatch(slot, f"a {slot.name} parameter; got type {kind!r}")
        data = obj(value, ("type", kind), required=(kind,))
        with at(kind):
            if slot.kind is SlotKind.HEADER_LOCATION:
                return kind, Location.from_json(data[kind])
            return kind, _media(kind, data[kind], _NATIVE_MEDIA_KEYS)

    def _body(self, index: int, parameters: list[Any]) -> None:
        body = [s for s in self.slots if s.kind in (SlotKind.BODY, SlotKind.OTP) and s.variable]
        for number, parameter in enumerate(parameters):
            path = f"parameters[{number}]"
            full = f"components[{index}].{path}"
            with at(path):
                slot = self._body_slot(body, number, parameter)
                value = self._text(slot, parameter)
                if slot.name in self.values:
                    raise InvalidMessage(
                        "",
                        f"gives {slot.description} a second time",
                        code=code_for(Failure.COUNT_MISMATCH),
                    )
                if slot.kind is SlotKind.OTP:
                    if not isinstance(value, str):
                        raise _mismatch(slot, "text")
                    with renamed({"code": "text"}):
                        value = Otp(value)
                    self.otp_body = (full, value)
            self.values[slot.name] = value
            self.paths[slot.name] = full

    def _body_slot(self, body: list[Slot], number: int, parameter: Any) -> Slot:
        count = code_for(Failure.COUNT_MISMATCH)
        _parameter_type(parameter)
        if not self.named:
            if number >= len(body):
                raise InvalidMessage(
                    "", f"is extra: the body has {len(body)} variables", code=count
                )
            return body[number]
        name = parameter.get("parameter_name")
        if name is None:
            raise InvalidMessage(
                "parameter_name",
                "is mandatory: the template's variables are named",
                code=SYNC.MANDATORY_MISSING,
            )
        slot = next((s for s in body if s.variable == name), None)
        if slot is None:
            raise InvalidMessage(
                "parameter_name", f"{name!r} is not a variable of the body", code=count
            )
        return slot

    def _text(self, slot: Slot, value: Any) -> Any:
        """A text, currency or date_time parameter, its `parameter_name` checked."""
        kind = _parameter_type(value)
        keys = ("type", kind, "parameter_name")
        if kind not in ("text", "currency", "date_time"):
            raise _mismatch(slot, f"text, currency or date_time; got type {kind!r}")
        data = obj(value, keys, required=(kind,))
        self._parameter_name(slot, data)
        if kind == "text":
            if not isinstance(data["text"], str):
                raise InvalidMessage("text", "must be a string")
            return data["text"]
        with at(kind):
            if kind == "currency":
                currency = obj(
                    data[kind], ("fallback_value", "code", "amount_1000"), required=("code",)
                )
                if "amount_1000" not in currency:
                    raise InvalidMessage("amount_1000", "is mandatory", code=SYNC.MANDATORY_MISSING)
                return Currency(
                    code=currency["code"],
                    amount_1000=currency["amount_1000"],
                    fallback_value=currency.get("fallback_value"),
                )
            moment = obj(data[kind], ("fallback_value",), required=("fallback_value",))
            return DateTime(fallback_value=moment["fallback_value"])

    def _parameter_name(self, slot: Slot, data: dict[str, Any]) -> None:
        name = data.get("parameter_name")
        if not self.named:
            if name is not None:
                raise InvalidMessage("parameter_name", "only NAMED templates name their parameters")
            return
        if name is None:
            raise InvalidMessage(
                "parameter_name",
                "is mandatory: the template's variables are named",
                code=SYNC.MANDATORY_MISSING,
            )
        if name != slot.variable:
            raise InvalidMessage(
                "parameter_name",
                f"{name!r} is not {slot.description}",
                code=code_for(Failure.COUNT_MISMATCH),
            )

    def _button(self, index: int, data: dict[str, Any], parameters: list[Any]) -> None:
        count = code_for(Failure.COUNT_MISMATCH)
        for key in ("sub_type", "index"):
            if key not in data:
                raise InvalidMessage(key, "is mandatory", code=SYNC.MANDATORY_MISSING)
        position = data["index"]
        if not isinstance(position, str) or not re.fullmatch(r"[0-9]", position):
            raise InvalidMessage("index", 'must be the button\'s position as a string, "0" to "9"')
        number = int(position)
        buttons = self.definition.buttons
        if number >= len(buttons):
            raise InvalidMessage("index", f"the template has no button {number}", code=count)
        if number in self.buttons:
            raise InvalidMessage("index", f"gives button {number} a second time", code=count)
        sub_type = data["sub_type"]
        button = buttons[number]
        expected = _SUB_TYPES.get(type(button))
        if not isinstance(sub_type, str) or sub_type.lower() != expected:
            raise InvalidMessage(
                "sub_type",
                f"button {number} is a {button.type} button"
                + (f': use "{expected}"' if expected else " and takes no parameters"),
                code=code_for(Failure.FORMAT_MISMATCH),
            )
        if isinstance(button, UrlButton) and not button.variables:
            raise InvalidMessage(
                "", f"button {number} has a static URL and takes no parameters", code=count
            )
        if len(parameters) != 1:
            raise InvalidMessage(
                "parameters",
                f"has {len(parameters)} parameters; a button takes one",
                code=count,
            )
        otp = any(slot.kind is SlotKind.OTP and number in slot.buttons for slot in self.slots)
        with at("parameters[0]"):
            value = self._button_parameter(button, parameters[0], otp=otp)
        self.buttons[number] = (f"components[{index}].parameters[0]", value)

    def _button_parameter(self, button: Any, value: Any, *, otp: bool) -> Any:
        wanted: dict[type, tuple[str, Callable[[Any], Any]]] = {
            UrlButton: ("text", Otp if otp else UrlSuffix),
            OtpButton: ("text", Otp),
            QuickReplyButton: ("payload", QuickReply),
            CopyCodeButton: ("coupon_code", CouponCode),
        }
        kind, build = wanted[type(button)]
        given = _parameter_type(value)
        if given != kind:
            raise InvalidMessage(
                "type",
                f'a {button.type} button takes a "{kind}" parameter; got {given!r}',
                code=code_for(Failure.FORMAT_MISMATCH),
            )
        data = obj(value, ("type", kind), required=(kind,))
        names = {"text": kind, "payload": kind, "code": kind}
        with renamed(names):
            return build(data[kind])

    def finish(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The values by parameter name, and the path of each (also for absent ones)."""
        for slot in self.slots:
            if slot.kind is SlotKind.QUICK_REPLIES:
                self._quick_replies(slot)
            elif slot.kind is SlotKind.OTP:
                self._otp(slot)
            elif slot.kind in (SlotKind.URL, SlotKind.COUPON) and slot.buttons[0] in self.buttons:
                path, value = self.buttons[slot.buttons[0]]
                self.values[slot.name] = value
                self.paths[slot.name] = path
        for slot in self.slots:
            self.paths.setdefault(slot.name, self._container(slot))
        body = self.components.get("body")
        self.paths[""] = "components" if body is None else f"components[{body}]"
        return self.values, self.paths

    def _quick_replies(self, slot: Slot) -> None:
        given = [number for number in slot.buttons if number in self.buttons]
        if not given:
            return
        missing = next((n for n in slot.buttons if n not in self.buttons), None)
        if missing is not None:
            raise InvalidMessage(
                "components",
                f"is missing the payload of quick reply button {missing}",
                code=code_for(Failure.COUNT_MISMATCH),
            )
        self.values[slot.name] = tuple(self.buttons[n][1] for n in slot.buttons)
        for position, number in enumerate(slot.buttons):
            self.paths[f"{slot.name}[{position}]"] = self.buttons[number][0]
        self.paths[slot.name] = self.buttons[slot.buttons[0]][0]

    def _otp(self, slot: Slot) -> None:
        button = next((self.buttons[n] for n in slot.buttons if n in self.buttons), None)
        body = self.otp_body if slot.variable is not None else None
        count = code_for(Failure.COUNT_MISMATCH)
        if slot.variable is not None and body is None and button is not None:
            raise InvalidMessage(
                "components", "the one-time code is missing from the body", code=count
            )
        if slot.buttons and button is None and body is not None:
            raise InvalidMessage(
                "components",
                f"the one-time code is missing from button {slot.buttons[0]}",
                code=count,
            )
        if body is not None and button is not None and body[1] != button[1]:
            raise InvalidMessage(
                button[0],
                "must be the same one-time code as the body's",
                code=code_for(Failure.FORMAT_MISMATCH),
            )
        found = body or button
        if found is not None:
            self.values[slot.name] = found[1]
            self.paths[slot.name] = found[0]

    def _container(self, slot: Slot) -> str:
        kind = "header" if slot.kind.name.startswith("HEADER_") else "body"
        if slot.kind in (SlotKind.BODY, SlotKind.HEADER_TEXT) or (
            slot.kind is SlotKind.OTP and slot.variable is not None
        ):
            index = self.components.get(kind)
            if index is not None:
                return f"components[{index}].parameters"
        return "components"


_SUB_TYPES: dict[type, str] = {
    UrlButton: "url",
    OtpButton: "url",
    QuickReplyButton: "quick_reply",
    CopyCodeButton: "copy_code",
}


def _parameter_type(value: Any) -> str:
    if not isinstance(value, dict):
        raise InvalidMessage("", "must be an object")
    kind = value.get("type")
    if kind is None:
        raise InvalidMessage("type", "is mandatory", code=SYNC.MANDATORY_MISSING)
    if not isinstance(kind, str):
        raise InvalidMessage("type", "must be a string")
    return kind


def _media(kind: str, value: Any, keys: dict[str, str]) -> Any:
    """A header media value; a link or MIME type the kind does not take is 7814."""
    try:
        return parse_media(kind, value, keys)
    except InvalidMessage as error:
        if error.field != "link" or error.code == SYNC.MANDATORY_MISSING:
            raise
        raise InvalidMessage(
            error.field, error.reason, code=code_for(Failure.MEDIA_FORMAT)
        ) from None


def _typed(slot: Slot, value: Any, kind: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """A Webex `{type: <kind>, ...}` object."""
    if not isinstance(value, dict):
        raise _mismatch(slot, f"{{type: {kind}}}; got {_json_type(value)}")
    if value.get("type") != kind:
        raise _mismatch(slot, f"{{type: {kind}}}; got type {value.get('type')!r}")
    return obj(value, keys)


def _integer(field: str, value: Any) -> int:
    """A whole number, given as a JSON number or a string of digits (the Webex samples' way)."""
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidMessage(field, "must be a whole number", code=code_for(Failure.FORMAT_MISMATCH))


def _mismatch(slot: Slot, expected: str) -> InvalidMessage:
    return InvalidMessage(
        "",
        f"{slot.description} takes {expected}",
        code=code_for(Failure.FORMAT_MISMATCH),
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    return "a string"


def _translated(error: InvalidMessage, paths: dict[str, str]) -> InvalidMessage:
    """`error` with its leading parameter name replaced by the native path it was read at."""
    head, rest = error.field, ""
    while True:
        if head in paths:
            return InvalidMessage(paths[head] + rest, error.reason, code=error.code)
        match = _LAST_SEGMENT.search(head)
        if match is None or not head:
            return error
        head, rest = head[: match.start()], match.group(0) + rest
