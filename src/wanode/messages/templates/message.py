"""A template send: an approved definition with a value for each of its parameters.

A template's parameters are named as the Messaging API names them in `message.parameters`
(webex-connect.md §1.4), and `TemplateMessage.parameters` uses the same names:

    parameter            fills                                    value
    headerText           the variable of a TEXT header            str, Currency or DateTime
    image, video,        a media header of that kind              Image, Video, Document
      document
    location             a LOCATION header                        Location
    1, 2... (POSITIONAL) a body variable, named as in the text    str, Currency or DateTime
      first_name (NAMED)
    url_<index>          the {{1}} suffix of the dynamic URL      UrlSuffix
                         button at that index (url_0, url_1)
    quickReply           every quick-reply button, in order       tuple of QuickReply
    otp                  an AUTHENTICATION template's code: its   Otp
                         body variable and its OTP button
    couponCode           the copy-code button (wanode's name;     CouponCode
                         Webex documents none)

Positional body variables are named by their number alone: a header, a URL button and a body
all count from `{{1}}`, and the header and buttons have names of their own, so the number is
free for the body. Every parameter is required, and nothing else is accepted. Buttons wanode
does not model (FLOW, CATALOG...) take no parameters here.

Failures raise `InvalidMessage` with the parameter's name as `field` and a code from
`failures.FAILURE_CODES`; the hydrated body, which no one parameter owns, is reported at `""`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, ClassVar

from wanode.codes import SYNC
from wanode.messages._fields import http_url
from wanode.messages.envelope import Message
from wanode.messages.errors import InvalidMessage
from wanode.messages.location import Location
from wanode.messages.media import Document, Image, Video
from wanode.messages.templates.components import (
    Body,
    Buttons,
    CopyCodeButton,
    Header,
    OtpButton,
    QuickReplyButton,
    UrlButton,
)
from wanode.messages.templates.creation import MAX_BODY, MAX_URL
from wanode.messages.templates.creation import MAX_HEADER_TEXT as MAX_HEADER
from wanode.messages.templates.definition import TemplateDefinition
from wanode.messages.templates.enums import HeaderFormat, ParameterFormat
from wanode.messages.templates.failures import Failure, code_for, status_failure
from wanode.messages.templates.values import (
    CouponCode,
    Currency,
    DateTime,
    Otp,
    Parameter,
    QuickReply,
    UrlSuffix,
    display,
)
from wanode.messages.templates.variables import fill

HEADER_KEYS = ("headerText", "image", "video", "document", "location")

# webex-connect.md §8: no newlines, at most 4 spaces in a row; tabs are refused as Meta does.
_CHARACTER_POLICY = re.compile(r"[\n\r\t]| {5,}")
_MEDIA = {"image": Image, "video": Video, "document": Document}


class SlotKind(Enum):
    HEADER_TEXT = "header text"
    HEADER_MEDIA = "header media"
    HEADER_LOCATION = "header location"
    BODY = "body"
    URL = "url"
    QUICK_REPLIES = "quick replies"
    OTP = "otp"
    COUPON = "coupon"


@dataclass(frozen=True)
class Slot:
    """One parameter of a template: its name, what it fills and where that is.

    `component` is the index of the component it fills (the body for an OTP with a body
    variable); `variable` the `{{...}}` name it fills in a header or body text; `buttons` the
    indexes of the buttons it fills.
    """

    name: str
    kind: SlotKind
    component: int
    description: str
    variable: str | None = None
    buttons: tuple[int, ...] = ()


def slots(definition: TemplateDefinition) -> tuple[Slot, ...]:
    """The parameters a send of `definition` takes, in the order their values are sent."""
    found: list[Slot] = []
    header = definition.find(Header)
    if header is not None:
        found.extend(_header_slots(*header))
    body = definition.find(Body)
    buttons = definition.find(Buttons)
    auth = definition.is_authentication
    otp_buttons = () if buttons is None else _code_buttons(buttons[1], auth)
    names = () if body is None else body[1].variables
    if auth and body is not None and body[1].text is None:
        names = ("1",)  # a definition from the create request: Meta writes "{{1}} is your..."
    otp_variable = names[0] if auth and names else None
    if body is not None:
        for name in names:
            if name == otp_variable:
                found.append(
                    Slot("otp", SlotKind.OTP, body[0], "the one-time code", name, otp_buttons)
                )
            else:
                found.append(
                    Slot(name, SlotKind.BODY, body[0], f"the body variable {{{{{name}}}}}", name)
                )
    if buttons is not None:
        index, component = buttons
        if otp_variable is None and otp_buttons:
            found.append(Slot("otp", SlotKind.OTP, index, "the one-time code", None, otp_buttons))
        quick = _indexes(component, QuickReplyButton)
        for number, button in enumerate(component.buttons):
            if number in otp_buttons:
                continue
            if isinstance(button, UrlButton) and button.variables:
                found.append(
                    Slot(
                        f"url_{number}",
                        SlotKind.URL,
                        index,
                        f"the URL suffix of button {number}",
                        buttons=(number,),
                    )
                )
            elif isinstance(button, CopyCodeButton):
                found.append(
                    Slot(
                        "couponCode",
                        SlotKind.COUPON,
                        index,
                        f"the coupon code of button {number}",
                        buttons=(number,),
                    )
                )
            elif quick and number == quick[0]:
                found.append(
                    Slot(
                        "quickReply",
                        SlotKind.QUICK_REPLIES,
                        index,
                        f"the payloads of the {len(quick)} quick replies",
                        buttons=quick,
                    )
                )
    seen: set[str] = set()
    for slot in found:
        if slot.name in seen:
            raise InvalidMessage(
                slot.name, "names two parameters of this template; it cannot be sent"
            )
        seen.add(slot.name)
    return tuple(found)


def _header_slots(index: int, header: Header) -> list[Slot]:
    if header.format is HeaderFormat.TEXT:
        names = header.variables
        if not names:
            return []
        return [
            Slot(
                "headerText",
                SlotKind.HEADER_TEXT,
                index,
                f"the header variable {{{{{names[0]}}}}}",
                names[0],
            )
        ]
    if header.format is HeaderFormat.LOCATION:
        return [Slot("location", SlotKind.HEADER_LOCATION, index, "the header location")]
    if header.format is HeaderFormat.UNKNOWN:
        return []
    kind = header.format.lower()
    return [Slot(kind, SlotKind.HEADER_MEDIA, index, f"the header {kind}")]


def _code_buttons(component: Buttons, auth: bool) -> tuple[int, ...]:
    """The buttons that carry an OTP: OTP buttons, and in an AUTHENTICATION template its
    dynamic URL buttons too (Meta lists an OTP button read back as a URL button ending in
    `code=otp{{1}}`)."""
    return tuple(
        i
        for i, button in enumerate(component.buttons)
        if isinstance(button, OtpButton)
        or (auth and isinstance(button, UrlButton) and button.variables)
    )


def _indexes(component: Buttons, kind: type) -> tuple[int, ...]:
    return tuple(i for i, button in enumerate(component.buttons) if isinstance(button, kind))


def parameter_names(definition: TemplateDefinition) -> tuple[str, ...]:
    """The names of the parameters a send of `definition` takes (all of them required)."""
    return tuple(slot.name for slot in slots(definition))


def check_sendable(definition: TemplateDefinition) -> None:
    """Refuse a template that is not APPROVED, with its status's code (`failures`)."""
    failure = status_failure(definition.status)
    if failure is not None:
        raise InvalidMessage(
            "template",
            f"{definition.name} ({definition.language}) is {definition.status}; "
            "only APPROVED templates can be sent",
            code=code_for(failure),
        )


@dataclass(frozen=True)
class TemplateMessage(Message):
    """A send of an APPROVED template; `parameters` as the module docstring describes."""

    definition: TemplateDefinition
    parameters: Mapping[str, Parameter] = field(default_factory=dict)

    kind: ClassVar[str] = "template"

    def __post_init__(self) -> None:
        definition = self.definition
        if not isinstance(definition, TemplateDefinition):
            raise InvalidMessage("template", "must be a template definition")
        check_sendable(definition)
        if not isinstance(self.parameters, Mapping):
            raise InvalidMessage("parameters", "must be an object")
        parameters = MappingProxyType(dict(self.parameters))
        object.__setattr__(self, "parameters", parameters)
        _check(definition, parameters)

    def content(self) -> dict[str, Any]:
        definition = self.definition
        language = definition.language
        named = definition.parameter_format is ParameterFormat.NAMED
        header: list[dict[str, Any]] = []
        body: list[dict[str, Any]] = []
        buttons: dict[int, dict[str, Any]] = {}
        for slot in slots(definition):
            value = self.parameters[slot.name]
            if isinstance(value, Otp):
                if slot.variable is not None:
                    body.append(_named({"type": "text", "text": value.code}, slot, named))
                for index in slot.buttons:
                    buttons[index] = _button("url", index, {"type": "text", "text": value.code})
            elif isinstance(value, str | Currency | DateTime):
                target = header if slot.kind is SlotKind.HEADER_TEXT else body
                target.append(_named(_text_parameter(value, language), slot, named))
            elif isinstance(value, Image | Video | Document):
                header.append({"type": value.kind, value.kind: value.media_object()})
            elif isinstance(value, Location):
                header.append({"type": "location", "location": value.content()["location"]})
            elif isinstance(value, UrlSuffix):
                buttons[slot.buttons[0]] = _button(
                    "url", slot.buttons[0], {"type": "text", "text": value.text}
                )
            elif isinstance(value, CouponCode):
                buttons[slot.buttons[0]] = _button(
                    "copy_code", slot.buttons[0], {"type": "coupon_code", "coupon_code": value.code}
                )
            else:
                for index, reply in zip(slot.buttons, value, strict=True):
                    buttons[index] = _button(
                        "quick_reply", index, {"type": "payload", "payload": reply.payload}
                    )
        components = []
        if header:
            components.append({"type": "header", "parameters": header})
        if body:
            components.append({"type": "body", "parameters": body})
        components.extend(buttons[index] for index in sorted(buttons))
        template: dict[str, Any] = {
            "name": definition.name,
            "language": {"code": language, "policy": "deterministic"},
        }
        if components:
            template["components"] = components
        return {"type": "template", "template": template}


def hydrate(
    definition: TemplateDefinition, bound: TemplateMessage | Mapping[str, Parameter]
) -> str:
    """The body text as delivered: each variable replaced by its value's text.

    `bound` is a message or its parameters. Variables without a value stay as written. A
    currency or date-time reads as its fallback (given, or written with Babel), an OTP as its
    code.
    """
    body = definition.find(Body)
    if body is None or body[1].text is None:
        return ""
    return fill(body[1].text, _texts(definition, bound, body[0]))


def hydrate_header(
    definition: TemplateDefinition, bound: TemplateMessage | Mapping[str, Parameter]
) -> str | None:
    """The text header as delivered, or None when the header is not text (or there is none)."""
    header = definition.find(Header)
    if header is None or header[1].format is not HeaderFormat.TEXT or header[1].text is None:
        return None
    return fill(header[1].text, _texts(definition, bound, header[0]))


def _texts(
    definition: TemplateDefinition,
    bound: TemplateMessage | Mapping[str, Parameter],
    component: int,
) -> dict[str, str]:
    parameters = bound.parameters if isinstance(bound, TemplateMessage) else bound
    texts = {}
    for slot in slots(definition):
        value = parameters.get(slot.name)
        if slot.component != component or slot.variable is None:
            continue
        if isinstance(value, Otp):
            texts[slot.variable] = value.code
        elif isinstance(value, str | Currency | DateTime):
            texts[slot.variable] = display(value, definition.language)
    return texts


def _check(definition: TemplateDefinition, parameters: Mapping[str, Parameter]) -> None:
    found = slots(definition)
    names = [slot.name for slot in found]
    for key in parameters:
        if key in names:
            continue
        header = next((name for name in names if name in HEADER_KEYS), None)
        if key in HEADER_KEYS and header is not None and header not in parameters:
            raise InvalidMessage(
                key,
                f"does not fit the template's header, which takes {header}",
                code=code_for(Failure.FORMAT_MISMATCH),
            )
        takes = ", ".join(names) if names else "none"
        raise InvalidMessage(
            key,
            f"is not a parameter of this template (it takes: {takes})",
            code=code_for(Failure.COUNT_MISMATCH),
        )
    for slot in found:
        if slot.name not in parameters:
            raise InvalidMessage(
                slot.name,
                f"is missing: {slot.description} needs a value",
                code=code_for(Failure.COUNT_MISMATCH),
            )
        _check_value(definition, slot, parameters[slot.name])
    header_text = hydrate_header(definition, parameters)
    if header_text is not None and len(header_text) > MAX_HEADER:
        raise InvalidMessage(
            "headerText",
            f"makes the header {len(header_text)} characters; at most {MAX_HEADER} are allowed",
            code=code_for(Failure.HYDRATED_TOO_LONG),
        )
    body = hydrate(definition, parameters)
    if len(body) > MAX_BODY:
        raise InvalidMessage(
            "",
            f"the body with its parameters filled in is {len(body)} characters; "
            f"at most {MAX_BODY} are allowed",
            code=code_for(Failure.HYDRATED_TOO_LONG),
        )


def _check_value(definition: TemplateDefinition, slot: Slot, value: object) -> None:
    kind = slot.kind
    if kind in (SlotKind.HEADER_TEXT, SlotKind.BODY):
        if not isinstance(value, str | Currency | DateTime):
            raise _mismatch(slot, value, "text, a currency or a date_time")
        _check_text(slot, value, definition.language)
    elif kind is SlotKind.HEADER_MEDIA:
        media = _MEDIA[slot.name]
        if not isinstance(value, media):
            raise _mismatch(slot, value, f"a {slot.name}")
        if value.caption is not None:
            raise InvalidMessage(
                slot.name, "header media take no caption", code=code_for(Failure.FORMAT_MISMATCH)
            )
    elif kind is SlotKind.HEADER_LOCATION:
        if not isinstance(value, Location):
            raise _mismatch(slot, value, "a location")
    elif kind is SlotKind.URL:
        if not isinstance(value, UrlSuffix):
            raise _mismatch(slot, value, "a URL suffix")
        _check_url(definition, slot, value)
    elif kind is SlotKind.QUICK_REPLIES:
        if not isinstance(value, list | tuple) or not all(
            isinstance(reply, QuickReply) for reply in value
        ):
            raise _mismatch(slot, value, "quick-reply payloads")
        _check_quick_replies(definition, slot, tuple(value))
    elif kind is SlotKind.OTP:
        if not isinstance(value, Otp):
            raise _mismatch(slot, value, "a one-time code")
    elif not isinstance(value, CouponCode):
        raise _mismatch(slot, value, "a coupon code")


def _check_text(slot: Slot, value: str | Currency | DateTime, language: str) -> None:
    if isinstance(value, str) and not value.strip():
        raise InvalidMessage(slot.name, "must not be empty", code=SYNC.MANDATORY_MISSING)
    shown = display(value, language)
    if _CHARACTER_POLICY.search(shown):
        raise InvalidMessage(
            slot.name,
            "must not contain newlines, tabs or more than 4 spaces in a row",
            code=code_for(Failure.CHARACTER_POLICY),
        )
    limit = MAX_HEADER if slot.kind is SlotKind.HEADER_TEXT else MAX_BODY
    if len(shown) > limit:
        raise InvalidMessage(
            slot.name,
            f"is {len(shown)} characters; the {slot.kind.value} it fills takes at most {limit}",
            code=code_for(Failure.PARAM_TOO_LONG),
        )


def _check_url(definition: TemplateDefinition, slot: Slot, value: UrlSuffix) -> None:
    button = definition.buttons[slot.buttons[0]]
    template_url = button.url if isinstance(button, UrlButton) else None
    url = fill(template_url or "", {"1": value.text})
    invalid = code_for(Failure.INVALID_URL)
    if len(url) > MAX_URL:
        raise InvalidMessage(
            slot.name, f"makes the URL {len(url)} characters; at most {MAX_URL}", code=invalid
        )
    try:
        http_url(slot.name, url)
    except InvalidMessage as error:
        raise InvalidMessage(
            slot.name, f"makes an invalid URL: {error.reason}", code=invalid
        ) from None


def _check_quick_replies(
    definition: TemplateDefinition, slot: Slot, replies: tuple[QuickReply, ...]
) -> None:
    count = code_for(Failure.COUNT_MISMATCH)
    if len(replies) != len(slot.buttons):
        raise InvalidMessage(
            slot.name,
            f"gives {len(replies)} payloads for the template's {len(slot.buttons)} quick replies",
            code=count,
        )
    for number, (index, reply) in enumerate(zip(slot.buttons, replies, strict=True)):
        label = definition.buttons[index].text
        if reply.button_text is not None and reply.button_text != label:
            raise InvalidMessage(
                f"{slot.name}[{number}].button_text",
                f"{reply.button_text!r} is not quick reply {number + 1} ({label!r})",
                code=count,
            )


def _mismatch(slot: Slot, value: object, expected: str) -> InvalidMessage:
    return InvalidMessage(
        slot.name,
        f"{slot.description} takes {expected}; got {_what(value)}",
        code=code_for(Failure.FORMAT_MISMATCH),
    )


def _what(value: object) -> str:
    names = {
        str: "text",
        Currency: "a currency",
        DateTime: "a date_time",
        Image: "an image",
        Video: "a video",
        Document: "a document",
        Location: "a location",
        UrlSuffix: "a URL suffix",
        Otp: "a one-time code",
        CouponCode: "a coupon code",
        tuple: "quick-reply payloads",
        list: "quick-reply payloads",
    }
    return names.get(type(value), type(value).__name__)


def _text_parameter(value: str | Currency | DateTime, language: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"type": "text", "text": value}
    if isinstance(value, Currency):
        return {
            "type": "currency",
            "currency": {
                "fallback_value": value.display(language),
                "code": value.code,
                "amount_1000": value.amount_1000,
            },
        }
    return {"type": "date_time", "date_time": {"fallback_value": value.display(language)}}


def _named(parameter: dict[str, Any], slot: Slot, named: bool) -> dict[str, Any]:
    if named and slot.variable is not None:
        return {**parameter, "parameter_name": slot.variable}
    return parameter


def _button(sub_type: str, index: int, parameter: dict[str, Any]) -> dict[str, Any]:
    return {"type": "button", "sub_type": sub_type, "index": str(index), "parameters": [parameter]}
