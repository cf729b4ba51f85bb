"""`parse_template`: a create request (`POST /{waba-id}/message_templates`) as a `TemplateSpec`,
or `MetaError` 100 naming the field (the rules are in `template_spec`'s docstring)."""

from __future__ import annotations

import re
from typing import Any

from wanode.sandbox.rules.errors import MetaError, as_invalid_parameter
from wanode.sandbox.rules.fields import array, boolean, obj, string
from wanode.sandbox.rules.template_buttons import BUTTONS
from wanode.sandbox.rules.template_spec import (
    AUTH_BODY,
    AUTH_SECURITY,
    CATEGORIES,
    CODE_EXPIRATION_MINUTES,
    HEADER_FORMATS,
    MAX_BODY,
    MAX_BUTTONS,
    MAX_FOOTER,
    MAX_HEADER,
    MAX_NAME,
    MAX_PER_TYPE,
    MEDIA_FORMATS,
    PARAMETER_FORMATS,
    VARIABLE,
    Button,
    Header,
    TemplateSpec,
    one_line_text,
    upper_choice,
)

_NAME = re.compile(r"[a-z0-9_]+")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_POSITIONAL = re.compile(r"[1-9][0-9]*")
_NAMED = re.compile(r"[a-z_][a-z0-9_]*")
_UNSUPPORTED_BUTTONS = ("FLOW", "MPM", "CATALOG", "VOICE_CALL", "SPM", "APP", "ORDER_DETAILS")


def parse_template(payload: Any) -> TemplateSpec:
    with as_invalid_parameter():
        return _parse(payload)


def _parse(payload: Any) -> TemplateSpec:
    request = obj(
        payload,
        "",
        (
            "name",
            "language",
            "category",
            "parameter_format",
            "components",
            "allow_category_change",
            "message_send_ttl_seconds",
        ),
        required=("name", "language", "category", "components"),
    )
    name = string(request["name"], "name", max_len=MAX_NAME)
    if not _NAME.fullmatch(name):
        raise MetaError(
            100, f"name: {name!r} may hold only lower-case letters, digits and underscores"
        )
    language = string(request["language"], "language")
    if not _LANGUAGE.fullmatch(language):
        raise MetaError(100, f"language: {language!r} is not a locale code such as en or en_US")
    category = upper_choice(request["category"], "category", CATEGORIES)
    parameter_format = upper_choice(
        request.get("parameter_format", "POSITIONAL"), "parameter_format", PARAMETER_FORMATS
    )
    if "allow_category_change" in request:
        boolean(request["allow_category_change"], "allow_category_change")
    ttl = request.get("message_send_ttl_seconds")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)):
        raise MetaError(100, "message_send_ttl_seconds: must be an integer number of seconds")
    components = _by_type(array(request["components"], "components", min_items=1))
    if "BODY" not in components:
        raise MetaError(100, "components: a template needs exactly one BODY component")
    parse = _Parser(category, parameter_format)
    if category == "AUTHENTICATION":
        return parse.authentication(name, language, components)
    return parse.standard(name, language, components)


def _by_type(items: list[Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The components by upper-case type, each with its path; refuses repeats and other types."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for index, value in enumerate(items):
        path = f"components[{index}]"
        if not isinstance(value, dict):
            raise MetaError(100, f"{path}: must be an object")
        kind = upper_choice(
            string(value.get("type"), f"{path}.type"),
            f"{path}.type",
            ("HEADER", "BODY", "FOOTER", "BUTTONS"),
            unsupported="component",
        )
        if kind in found:
            raise MetaError(100, f"{path}.type: a template has at most one {kind} component")
        found[kind] = (path, value)
    return found


class _Parser:
    def __init__(self, category: str, parameter_format: str) -> None:
        self.category = category
        self.named = parameter_format == "NAMED"
        self.parameter_format = parameter_format

    def standard(
        self, name: str, language: str, components: dict[str, tuple[str, dict[str, Any]]]
    ) -> TemplateSpec:
        shown: list[dict[str, Any]] = []
        header = None
        if "HEADER" in components:
            header, header_json = self.header(*components["HEADER"])
            shown.append(header_json)
        body, variables, body_json = self.body(*components["BODY"])
        shown.append(body_json)
        footer = None
        if "FOOTER" in components:
            path, value = components["FOOTER"]
            component = obj(value, path, ("type", "text"), required=("text",))
            footer = one_line_text(component["text"], f"{path}.text", MAX_FOOTER)
            if VARIABLE.search(footer):
                raise MetaError(100, f"{path}.text: a footer cannot hold variables")
            shown.append({"type": "FOOTER", "text": footer})
        buttons: tuple[Button, ...] = ()
        if "BUTTONS" in components:
            buttons, buttons_json = self.buttons(*components["BUTTONS"], otp=False)
            shown.append(buttons_json)
        return TemplateSpec(
            name,
            language,
            self.category,
            self.parameter_format,
            header,
            body,
            variables,
            footer,
            buttons,
            tuple(shown),
        )

    def authentication(
        self, name: str, language: str, components: dict[str, tuple[str, dict[str, Any]]]
    ) -> TemplateSpec:
        if self.named:
            raise MetaError(
                100, "parameter_format: authentication templates use POSITIONAL parameters"
            )
        if "HEADER" in components:
            raise MetaError(
                100, f"{components['HEADER'][0]}: authentication templates have no header"
            )
        path, value = components["BODY"]
        component = obj(value, path, ("type", "add_security_recommendation"))
        body = AUTH_BODY
        if "add_security_recommendation" in component and boolean(
            component["add_security_recommendation"], f"{path}.add_security_recommendation"
        ):
            body += AUTH_SECURITY
        shown: list[dict[str, Any]] = [{"type": "BODY", "text": body, **_without_type(component)}]
        footer = None
        if "FOOTER" in components:
            path, value = components["FOOTER"]
            component = obj(
                value,
                path,
                ("type", "code_expiration_minutes"),
                required=("code_expiration_minutes",),
            )
            minutes = component["code_expiration_minutes"]
            if (
                isinstance(minutes, bool)
                or not isinstance(minutes, int)
                or minutes not in CODE_EXPIRATION_MINUTES
            ):
                raise MetaError(
                    100, f"{path}.code_expiration_minutes: must be a whole number from 1 to 90"
                )
            footer = f"This code expires in {minutes} minutes."
            shown.append({"type": "FOOTER", "text": footer, "code_expiration_minutes": minutes})
        if "BUTTONS" not in components:
            raise MetaError(100, "components: authentication templates need one OTP button")
        buttons, buttons_json = self.buttons(*components["BUTTONS"], otp=True)
        shown.append(buttons_json)
        return TemplateSpec(
            name,
            language,
            self.category,
            self.parameter_format,
            None,
            body,
            ("1",),
            footer,
            buttons,
            tuple(shown),
        )

    def header(self, path: str, value: dict[str, Any]) -> tuple[Header, dict[str, Any]]:
        component = obj(value, path, ("type", "format", "text", "example"), required=("format",))
        kind = upper_choice(component["format"], f"{path}.format", HEADER_FORMATS)
        shown: dict[str, Any] = {"type": "HEADER", "format": kind}
        if kind != "TEXT" and "text" in component:
            raise MetaError(100, f"{path}.text: only TEXT headers have text")
        if kind == "TEXT":
            text = one_line_text(component.get("text"), f"{path}.text", MAX_HEADER)
            variables = self.variables(text, f"{path}.text")
            if len(variables) > 1:
                raise MetaError(100, f"{path}.text: a header holds at most one variable")
            shown["text"] = text
            example = self.header_example(component.get("example"), f"{path}.example", variables)
            if example is not None:
                shown["example"] = example
            return Header(kind, text, variables), shown
        if kind in MEDIA_FORMATS:
            if "example" not in component:
                raise MetaError(
                    100, f"{path}.example.header_handle: is required for {kind} headers"
                )
            example = obj(
                component.get("example"),
                f"{path}.example",
                ("header_handle",),
                required=("header_handle",),
            )
            handles = array(example["header_handle"], f"{path}.example.header_handle", min_items=1)
            for index, handle in enumerate(handles):
                string(handle, f"{path}.example.header_handle[{index}]")
            shown["example"] = {"header_handle": handles}
        elif "example" in component:
            raise MetaError(100, f"{path}.example: a LOCATION header takes no example")
        return Header(kind), shown

    def header_example(
        self, value: Any, path: str, variables: tuple[str, ...]
    ) -> dict[str, Any] | None:
        if not variables:
            return None
        key = "header_text_named_params" if self.named else "header_text"
        if value is None:
            raise MetaError(100, f"{path}.{key}: is required; the header has a variable")
        example = obj(value, path, (key,), required=(key,))
        if self.named:
            self.named_examples(example[key], f"{path}.{key}", variables)
        else:
            values = array(example[key], f"{path}.{key}", min_items=1, max_items=1)
            string(values[0], f"{path}.{key}[0]")
        return example

    def body(self, path: str, value: dict[str, Any]) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        component = obj(value, path, ("type", "text", "example"), required=("text",))
        text = string(component["text"], f"{path}.text", max_len=MAX_BODY)
        variables = self.variables(text, f"{path}.text")
        stripped = text.strip()
        uses = list(VARIABLE.finditer(stripped))
        if uses and (uses[0].start() == 0 or uses[-1].end() == len(stripped)):
            raise MetaError(100, f"{path}.text: variables can't be at the start or end of the body")
        shown: dict[str, Any] = {"type": "BODY", "text": text}
        if variables:
            shown["example"] = self.body_example(
                component.get("example"), f"{path}.example", variables
            )
        return text, variables, shown

    def body_example(self, value: Any, path: str, variables: tuple[str, ...]) -> dict[str, Any]:
        key = "body_text_named_params" if self.named else "body_text"
        if value is None:
            raise MetaError(
                100, f"{path}.{key}: the body has variables, so it needs an example of each"
            )
        example = obj(value, path, (key,), required=(key,))
        if self.named:
            self.named_examples(example[key], f"{path}.{key}", variables)
            return example
        outer = array(example[key], f"{path}.{key}", min_items=1, max_items=1)
        inner = array(outer[0], f"{path}.{key}[0]")
        if len(inner) != len(variables):
            raise MetaError(
                100,
                f"{path}.{key}[0]: the body has {len(variables)} variables but "
                f"{len(inner)} example values",
            )
        for index, item in enumerate(inner):
            string(item, f"{path}.{key}[0][{index}]")
        return example

    def named_examples(self, value: Any, path: str, variables: tuple[str, ...]) -> None:
        seen = set()
        for index, item in enumerate(array(value, path)):
            at = f"{path}[{index}]"
            pair = obj(item, at, ("param_name", "example"), required=("param_name", "example"))
            seen.add(string(pair["param_name"], f"{at}.param_name"))
            string(pair["example"], f"{at}.example")
        if seen != set(variables):
            raise MetaError(
                100,
                f"{path}: needs one example for each of {', '.join(variables)} "
                f"(got {', '.join(sorted(seen)) or 'none'})",
            )

    def variables(self, text: str, path: str) -> tuple[str, ...]:
        """The distinct variables of `text`, in order of first use; checks their format."""
        found = list(dict.fromkeys(VARIABLE.findall(text)))
        pattern, other = (_NAMED, _POSITIONAL) if self.named else (_POSITIONAL, _NAMED)
        for variable in found:
            if not pattern.fullmatch(variable):
                wrong = "positional" if other is _POSITIONAL else "named"
                reason = (
                    f"is a {wrong} variable in a {self.parameter_format} template"
                    if other.fullmatch(variable)
                    else "is not a variable ({{1}} or {{name}})"
                )
                raise MetaError(100, f"{path}: {{{{{variable}}}}} {reason}")
        if not self.named:
            numbers = sorted(int(v) for v in found)
            if numbers != list(range(1, len(numbers) + 1)):
                raise MetaError(
                    100, f"{path}: variables must be numbered {{{{1}}}}, {{{{2}}}}... without gaps"
                )
        return tuple(found)

    def buttons(
        self, path: str, value: dict[str, Any], *, otp: bool
    ) -> tuple[tuple[Button, ...], dict[str, Any]]:
        component = obj(value, path, ("type", "buttons"), required=("buttons",))
        items = array(component["buttons"], f"{path}.buttons", min_items=1, max_items=MAX_BUTTONS)
        buttons: list[Button] = []
        shown: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        quick_replies_closed = False
        for index, item in enumerate(items):
            at = f"{path}.buttons[{index}]"
            if not isinstance(item, dict):
                raise MetaError(100, f"{at}: must be an object")
            kind = upper_choice(
                string(item.get("type"), f"{at}.type"),
                f"{at}.type",
                ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP"),
                unsupported="button",
                known=_UNSUPPORTED_BUTTONS,
            )
            if (kind == "OTP") != otp:
                raise MetaError(
                    100,
                    f"{at}.type: authentication templates take exactly one OTP button"
                    if otp
                    else f"{at}.type: OTP buttons belong to AUTHENTICATION templates",
                )
            counts[kind] = counts.get(kind, 0) + 1
            if counts[kind] > MAX_PER_TYPE.get(kind, MAX_BUTTONS):
                raise MetaError(
                    100, f"{at}: a template has at most {MAX_PER_TYPE[kind]} {kind} button(s)"
                )
            if kind == "QUICK_REPLY":
                if quick_replies_closed:
                    raise MetaError(
                        100,
                        f"{at}: quick reply buttons must be grouped together, "
                        "not mixed in between other buttons",
                    )
            elif counts.get("QUICK_REPLY"):
                quick_replies_closed = True
            button, button_json = BUTTONS[kind](item, at)
            buttons.append(button)
            shown.append(button_json)
        return tuple(buttons), {"type": "BUTTONS", "buttons": shown}


def _without_type(component: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in component.items() if key != "type"}
