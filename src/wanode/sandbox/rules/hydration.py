"""A template message against its template: Meta's synchronous template errors, then the text
the handset shows (cloud-api.md §2, §3.3, §8).

Checks, in order, each answered at once with HTTP 4xx (§8 and the §11 checklist mark all of
them synchronous):

- 132001 (judged in `wanode.sandbox.platform.failures`, against the stored template): no
  template of that name in that language in the number's WABA, or one that is not
  approved (PENDING, REJECTED...). 132015: the template is PAUSED. 132016: it is DISABLED.
- 132000: the number of parameters differs from the template's variables: header, body, or a
  button that needs one (a URL button ending in `{{1}}`, COPY_CODE, an OTP button), or a
  parameter for a component or button that has no variable, or a NAMED parameter that names
  no variable of the template.
- 132012: a parameter of the wrong kind: text where the header expects an image, an image in
  the body, a quick_reply component for a URL button, a `parameter_name` in a POSITIONAL
  template or none in a NAMED one.
- 132005: the header or body, parameters filled in, is over its limit (60, 1024).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.kinds.content import ButtonParameters, Parameter, TemplateSend, lines
from wanode.sandbox.rules.template_spec import MAX_BODY, MAX_HEADER, Button, TemplateSpec

BODY_TYPES = ("text", "currency", "date_time")
_VARIABLE = re.compile(r"\{\{(.*?)\}\}")
_SUB_TYPE_OF = {"QUICK_REPLY": "quick_reply", "URL": "url", "COPY_CODE": "copy_code", "OTP": "url"}


@dataclass(frozen=True)
class RenderedButton:
    index: int
    type: str
    text: str
    payload: str | None = None
    url: str | None = None
    phone_number: str | None = None
    code: str | None = None
    otp_type: str | None = None

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"index": self.index, "type": self.type, "text": self.text}
        for key in ("otp_type", "payload", "url", "phone_number", "code"):
            if getattr(self, key) is not None:
                shown[key] = getattr(self, key)
        return shown

    def label(self) -> str:
        detail = self.url or self.phone_number or self.code
        return f"[{self.text}] {detail}" if detail else f"[{self.text}]"


@dataclass(frozen=True)
class Rendered:
    """A template message as the handset shows it."""

    name: str
    language: str
    category: str
    header: str | None
    body: str
    footer: str | None
    buttons: tuple[RenderedButton, ...]

    def summary(self) -> str:
        buttons = " ".join(button.label() for button in self.buttons)
        return lines(self.header, self.body, self.footer, buttons)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "language": self.language,
            "category": self.category,
            "header": self.header,
            "body": self.body,
            "footer": self.footer,
            "buttons": [button.as_json() for button in self.buttons],
        }


def hydrate(spec: TemplateSpec, send: TemplateSend) -> Rendered:
    """The rendered message, or the MetaError Meta answers (see the module docstring)."""
    named = spec.parameter_format == "NAMED"
    header = _header(spec, send.header, named)
    body = _fill(
        spec.body,
        spec.body_variables,
        _checked(send.body or (), BODY_TYPES, "body", named),
        named,
        "template.components: body",
    )
    if len(body) > MAX_BODY:
        raise MetaError(
            132005, f"body: {len(body)} characters with its parameters; at most {MAX_BODY}"
        )
    buttons = _buttons(spec.buttons, send.buttons)
    return Rendered(spec.name, spec.language, spec.category, header, body, spec.footer, buttons)


def _header(spec: TemplateSpec, given: tuple[Parameter, ...] | None, named: bool) -> str | None:
    header = spec.header
    parameters = given or ()
    if header is None:
        if parameters:
            raise MetaError(132000, "header: the template has no header to take parameters")
        return None
    if header.format == "TEXT":
        assert header.text is not None
        text = _fill(
            header.text,
            header.variables,
            _checked(parameters, ("text",), "header", named),
            named,
            "template.components: header",
        )
        if len(text) > MAX_HEADER:
            raise MetaError(
                132005,
                f"header: {len(text)} characters with its parameter; at most {MAX_HEADER}",
            )
        return text
    expected = header.format.lower()
    if len(parameters) != 1:
        raise MetaError(
            132000,
            f"header: the template's {header.format} header takes one {expected} parameter "
            f"(got {len(parameters)})",
        )
    [parameter] = parameters
    if parameter.type != expected:
        raise MetaError(
            132012,
            f"{parameter.path}.type: the template's header is {header.format}, not "
            f"{parameter.type}",
        )
    return parameter.value


def _checked(
    parameters: tuple[Parameter, ...], types: tuple[str, ...], where: str, named: bool
) -> tuple[Parameter, ...]:
    for parameter in parameters:
        if parameter.type not in types:
            raise MetaError(
                132012,
                f"{parameter.path}.type: {where} parameters are {', '.join(types)}, "
                f"not {parameter.type}",
            )
        if named and parameter.name is None:
            raise MetaError(
                132012, f"{parameter.path}: the template is NAMED; give a parameter_name"
            )
        if not named and parameter.name is not None:
            raise MetaError(
                132012,
                f"{parameter.path}.parameter_name: the template is POSITIONAL; parameters "
                "go in order, without names",
            )
    return parameters


def _fill(
    text: str,
    variables: Sequence[str],
    parameters: tuple[Parameter, ...],
    named: bool,
    where: str,
) -> str:
    if len(parameters) != len(variables):
        raise MetaError(
            132000,
            f"{where}: the template has {len(variables)} variable(s), the message gives "
            f"{len(parameters)} parameter(s)",
        )
    if named:
        values: dict[str, str] = {}
        for parameter in parameters:
            assert parameter.name is not None
            if parameter.name not in variables or parameter.name in values:
                raise MetaError(
                    132000,
                    f"{parameter.path}.parameter_name: {parameter.name!r} is not one of the "
                    f"template's variables ({', '.join(variables)}) or is given twice",
                )
            values[parameter.name] = parameter.value
    else:
        values = {str(number): p.value for number, p in enumerate(parameters, start=1)}
    return _VARIABLE.sub(lambda match: values[match[1]], text)


def _buttons(
    buttons: tuple[Button, ...], given: tuple[ButtonParameters, ...]
) -> tuple[RenderedButton, ...]:
    by_index = {item.index: item for item in given}
    for item in given:
        if item.index >= len(buttons):
            raise MetaError(
                132000,
                f"{item.path}.index: the template has {len(buttons)} button(s); "
                f"there is no button {item.index}",
            )
        button = buttons[item.index]
        expected = _SUB_TYPE_OF.get(button.type)
        if expected != item.sub_type:
            raise MetaError(
                132012,
                f"{item.path}.sub_type: button {item.index} is a {button.type} button, "
                f"not {item.sub_type}",
            )
        if button.type == "URL" and not button.takes_parameter:
            raise MetaError(
                132000, f"{item.path}: button {item.index} has a fixed URL and takes no parameter"
            )
    rendered = []
    for index, button in enumerate(buttons):
        given_item = by_index.get(index)
        if button.takes_parameter and given_item is None:
            raise MetaError(
                132000,
                f"template.components: button {index} ({button.type}) needs a button "
                "component with its parameter",
            )
        value = given_item.parameters[0].value if given_item is not None else None
        rendered.append(_render(index, button, value))
    return tuple(rendered)


def _render(index: int, button: Button, value: str | None) -> RenderedButton:
    if button.type == "QUICK_REPLY":
        return RenderedButton(index, button.type, button.text, payload=value)
    if button.type == "URL":
        assert button.url is not None
        url = button.url.replace("{{1}}", value) if value is not None else button.url
        return RenderedButton(index, button.type, button.text, url=url)
    if button.type == "PHONE_NUMBER":
        return RenderedButton(index, button.type, button.text, phone_number=button.phone_number)
    return RenderedButton(index, button.type, button.text, code=value, otp_type=button.otp_type)
