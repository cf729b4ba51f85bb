"""Meta's rules for a template definition: `POST /{waba-id}/message_templates` (cloud-api.md §3.1).

`parse_template` turns a create request into a `TemplateSpec` or raises `MetaError` 100
("Invalid parameter") naming the field, which is how Graph refuses a management call. The rules:

- `name`: lower-case letters, digits and `_`, at most 512 characters. `language`: a locale code
  (`en`, `en_US`; EMULATOR CHOICE: any code of that shape, not Meta's fixed list). `category`:
  MARKETING, UTILITY or AUTHENTICATION; `parameter_format`: POSITIONAL (default) or NAMED. Both
  are accepted in lower case, as Meta's docs write them, and stored in upper case.
- `components`: exactly one BODY; at most one HEADER, FOOTER and BUTTONS. Other component
  types (carousels, limited-time offers) are refused as not supported by the sandbox.
- Variables are `{{1}}`, `{{2}}`... numbered from 1 without gaps (POSITIONAL), or
  `{{first_name}}` (NAMED); the header and the body number their own. A template uses one
  format only. The body may not start or end with a variable; every variable needs its example
  (`example.header_text`, `example.body_text`, or their `_named_params` forms).
- HEADER: TEXT (at most 60 characters, one line, at most one variable), IMAGE, VIDEO or
  DOCUMENT (an `example.header_handle` is required), or LOCATION. BODY: at most 1024
  characters. FOOTER: at most 60 characters, no variables.
- BUTTONS: 1 to 10 buttons; labels at most 25 characters; QUICK_REPLY (up to 10, grouped
  together, not interleaved with other types), URL (at most 2, `url` up to 2000 characters,
  optionally ending in one `{{1}}` with an example), PHONE_NUMBER (at most 1, number up to
  20 characters), COPY_CODE (at most 1, example code up to 15 characters). FLOW, MPM,
  CATALOG and the other button types are refused as not supported by the sandbox.
- AUTHENTICATION templates have Meta's fixed body ("*{{1}}* is your verification code.",
  plus a security recommendation when `add_security_recommendation` is true), no header, an
  optional footer of `code_expiration_minutes` (1 to 90), and exactly one OTP button
  (COPY_CODE, ONE_TAP or ZERO_TAP). OTP buttons are refused in other categories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wanode.sandbox.errors import MetaError, as_invalid_parameter
from wanode.sandbox.fields import array, boolean, http_url, obj, optional_string, string

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
PARAMETER_FORMATS = ("POSITIONAL", "NAMED")
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
OTP_TYPES = ("COPY_CODE", "ONE_TAP", "ZERO_TAP")
MAX_NAME = 512
MAX_HEADER = 60
MAX_BODY = 1024
MAX_FOOTER = 60
MAX_BUTTONS = 10
MAX_LABEL = 25
MAX_URL = 2000
MAX_PHONE = 20
MAX_COUPON = 15
MAX_PER_TYPE = {"URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1, "OTP": 1}
CODE_EXPIRATION_MINUTES = range(1, 91)

AUTH_BODY = "*{{1}}* is your verification code."
AUTH_SECURITY = " For your security, do not share this code."
COPY_CODE_LABEL = "Copy offer code"
OTP_LABEL = "Copy code"
AUTOFILL_LABEL = "Autofill"

_NAME = re.compile(r"[a-z0-9_]+")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_VARIABLE = re.compile(r"\{\{(.*?)\}\}")
_POSITIONAL = re.compile(r"[1-9][0-9]*")
_NAMED = re.compile(r"[a-z_][a-z0-9_]*")
_PHONE = re.compile(r"\+?[0-9]+")
_URL_VARIABLE = "{{1}}"
_UNSUPPORTED_BUTTONS = ("FLOW", "MPM", "CATALOG", "VOICE_CALL", "SPM", "APP", "ORDER_DETAILS")


@dataclass(frozen=True)
class Header:
    format: str
    text: str | None = None
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Button:
    """A template button. `otp_type` is set for OTP buttons; `url` may end with `{{1}}`."""

    type: str
    text: str
    url: str | None = None
    phone_number: str | None = None
    otp_type: str | None = None

    @property
    def takes_parameter(self) -> bool:
        """Whether a send must give this button a parameter (URL suffix or code)."""
        if self.type == "URL":
            return self.url is not None and self.url.endswith(_URL_VARIABLE)
        return self.type in ("COPY_CODE", "OTP")


@dataclass(frozen=True)
class TemplateSpec:
    """A valid template definition; `components` is its normalised JSON, as Graph shows it."""

    name: str
    language: str
    category: str
    parameter_format: str
    header: Header | None
    body: str
    body_variables: tuple[str, ...]
    footer: str | None
    buttons: tuple[Button, ...]
    components: tuple[dict[str, Any], ...]


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
    category = _upper_choice(request["category"], "category", CATEGORIES)
    parameter_format = _upper_choice(
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
        kind = _upper_choice(
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
            footer = _one_line_text(component["text"], f"{path}.text", MAX_FOOTER)
            if _VARIABLE.search(footer):
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
        kind = _upper_choice(component["format"], f"{path}.format", HEADER_FORMATS)
        shown: dict[str, Any] = {"type": "HEADER", "format": kind}
        if kind != "TEXT" and "text" in component:
            raise MetaError(100, f"{path}.text: only TEXT headers have text")
        if kind == "TEXT":
            text = _one_line_text(component.get("text"), f"{path}.text", MAX_HEADER)
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
        uses = list(_VARIABLE.finditer(stripped))
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
        found = list(dict.fromkeys(_VARIABLE.findall(text)))
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
            kind = _upper_choice(
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
            button, button_json = _BUTTONS[kind](item, at)
            buttons.append(button)
            shown.append(button_json)
        return tuple(buttons), {"type": "BUTTONS", "buttons": shown}


def _quick_reply(item: dict[str, Any], path: str) -> tuple[Button, dict[str, Any]]:
    button = obj(item, path, ("type", "text"), required=("text",))
    label = string(button["text"], f"{path}.text", max_len=MAX_LABEL)
    return Button("QUICK_REPLY", label), {"type": "QUICK_REPLY", "text": label}


def _url(item: dict[str, Any], path: str) -> tuple[Button, dict[str, Any]]:
    button = obj(item, path, ("type", "text", "url", "example"), required=("text", "url"))
    label = string(button["text"], f"{path}.text", max_len=MAX_LABEL)
    url = string(button["url"], f"{path}.url", max_len=MAX_URL)
    fixed = url.removesuffix(_URL_VARIABLE)
    http_url(fixed, f"{path}.url")
    if "{{" in fixed or "}}" in fixed:
        raise MetaError(100, f"{path}.url: only one variable, {{{{1}}}}, at the very end")
    shown: dict[str, Any] = {"type": "URL", "text": label, "url": url}
    if url != fixed:
        examples = array(button.get("example"), f"{path}.example", min_items=1, max_items=1)
        string(examples[0], f"{path}.example[0]")
        shown["example"] = examples
    return Button("URL", label, url=url), shown


def _phone_number(item: dict[str, Any], path: str) -> tuple[Button, dict[str, Any]]:
    button = obj(item, path, ("type", "text", "phone_number"), required=("text", "phone_number"))
    label = string(button["text"], f"{path}.text", max_len=MAX_LABEL)
    phone = string(button["phone_number"], f"{path}.phone_number", max_len=MAX_PHONE)
    if not _PHONE.fullmatch(phone):
        raise MetaError(100, f"{path}.phone_number: {phone!r} is not a phone number")
    shown = {"type": "PHONE_NUMBER", "text": label, "phone_number": phone}
    return Button("PHONE_NUMBER", label, phone_number=phone), shown


def _copy_code(item: dict[str, Any], path: str) -> tuple[Button, dict[str, Any]]:
    button = obj(item, path, ("type", "example"), required=("example",))
    example = string(button["example"], f"{path}.example", max_len=MAX_COUPON)
    shown = {"type": "COPY_CODE", "text": COPY_CODE_LABEL, "example": example}
    return Button("COPY_CODE", COPY_CODE_LABEL), shown


def _otp(item: dict[str, Any], path: str) -> tuple[Button, dict[str, Any]]:
    button = obj(
        item,
        path,
        (
            "type",
            "otp_type",
            "text",
            "autofill_text",
            "package_name",
            "signature_hash",
            "supported_apps",
            "zero_tap_terms_accepted",
        ),
        required=("otp_type",),
    )
    otp_type = _upper_choice(button["otp_type"], f"{path}.otp_type", OTP_TYPES)
    label = optional_string(button.get("text"), f"{path}.text", max_len=MAX_LABEL) or OTP_LABEL
    autofill = optional_string(
        button.get("autofill_text"), f"{path}.autofill_text", max_len=MAX_LABEL
    )
    if otp_type != "COPY_CODE":
        _supported_apps(button, path)
        if otp_type == "ZERO_TAP" and button.get("zero_tap_terms_accepted") is not True:
            raise MetaError(
                100, f"{path}.zero_tap_terms_accepted: ZERO_TAP needs the terms accepted (true)"
            )
    shown = {**button, "type": "OTP", "otp_type": otp_type, "text": label}
    shown_label = label if otp_type == "COPY_CODE" else (autofill or AUTOFILL_LABEL)
    return Button("OTP", shown_label, otp_type=otp_type), shown


def _supported_apps(button: dict[str, Any], path: str) -> None:
    """One-tap and zero-tap buttons name the Android app(s) the code is handed to."""
    if "supported_apps" in button:
        apps = array(button["supported_apps"], f"{path}.supported_apps", min_items=1, max_items=5)
        for index, app in enumerate(apps):
            at = f"{path}.supported_apps[{index}]"
            pair = obj(
                app,
                at,
                ("package_name", "signature_hash"),
                required=("package_name", "signature_hash"),
            )
            string(pair["package_name"], f"{at}.package_name")
            string(pair["signature_hash"], f"{at}.signature_hash")
        return
    for key in ("package_name", "signature_hash"):
        if key not in button:
            raise MetaError(
                100, f"{path}.supported_apps: one-tap and zero-tap buttons name their app"
            )
        string(button[key], f"{path}.{key}")


_BUTTONS = {
    "QUICK_REPLY": _quick_reply,
    "URL": _url,
    "PHONE_NUMBER": _phone_number,
    "COPY_CODE": _copy_code,
    "OTP": _otp,
}


def _upper_choice(
    value: Any,
    path: str,
    allowed: tuple[str, ...],
    *,
    unsupported: str | None = None,
    known: tuple[str, ...] = (),
) -> str:
    if not isinstance(value, str):
        raise MetaError(100, f"{path}: must be a string")
    upper = value.upper()
    if upper in allowed:
        return upper
    if unsupported is not None and (upper in known or not known):
        raise MetaError(
            100,
            f"{path}: {value!r} is not one of {', '.join(allowed)}; the sandbox supports no "
            f"other {unsupported} types",
        )
    raise MetaError(100, f"{path}: {value!r} is not one of {', '.join(allowed)}")


def _one_line_text(value: Any, path: str, max_len: int) -> str:
    text = string(value, path, max_len=max_len)
    if "\n" in text:
        raise MetaError(100, f"{path}: must be a single line")
    return text


def _without_type(component: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in component.items() if key != "type"}
