"""Meta's rules for creating a template (cloud-api.md §3.1), applied before wanode submits one.

Where the spec and Meta differ, the spec wins (DESIGN.md); where the spec is silent, Meta's
rule applies. The buttons are the one place they differ:

- Meta: at most 10 buttons; quick replies (up to 10) grouped together, not interleaved with
  other buttons; at most 2 URL buttons, 1 phone-number button, 1 copy-code button.
- The spec (node "Buttons"): the buttons are *either* call-to-action *or* quick replies, never
  both; at most one "Visit website" and one "Call phone number" button ("WhatsApp allows a
  maximum of two CTA buttons"); at most three quick replies.

wanode creates what both accept: quick replies alone (1-3), or call-to-action buttons alone
(at most one URL, one phone number and one copy-code button; the spec predates copy-code
buttons, which count with the call-to-action ones, Meta's limit of one applying). Meta's limit
of 10 is checked first so an over-long list is reported as such. Templates created elsewhere
may have more buttons: reading and sending them is not affected.

Other decisions:
- Names: lower-case letters, digits and underscores, up to 512 (Meta; Webex's UI allows no
  digits, but that is its editor, not a platform rule).
- Meta's rule that a body may not start or end with a variable is not in the reference, so it
  is not applied.
- AUTHENTICATION templates: no header (Meta's authentication template is a body Meta writes,
  an optional expiry footer and one OTP button); exactly one OTP button, COPY_CODE or ONE_TAP
  (ZERO_TAP is read, never created: its terms acceptance is outside the reference). Their body
  and footer texts are Meta's and are not checked; `to_graph` leaves them out. OTP buttons are
  for AUTHENTICATION templates only (spec).
- A custom TTL (`message_send_ttl_seconds`) is -1 or positive, for AUTHENTICATION and UTILITY
  templates; marketing TTLs go through Marketing Messages Lite.

Errors are `InvalidMessage` with the path of the offending value in the create request
(`components[1].text`, `components[2].buttons[0].text`): 7003 when a value is missing, 7004
otherwise.
"""

from __future__ import annotations

import re
from typing import Any

from wanode.codes import SYNC
from wanode.messages._fields import http_url, text
from wanode.messages.errors import InvalidMessage
from wanode.messages.templates._graph import Reader
from wanode.messages.templates.components import (
    Body,
    Button,
    Buttons,
    CopyCodeButton,
    Examples,
    Footer,
    Header,
    OtherButton,
    OtpButton,
    PhoneNumberButton,
    QuickReplyButton,
    UnknownComponent,
    UrlButton,
)
from wanode.messages.templates.definition import TemplateDefinition, read_graph
from wanode.messages.templates.enums import (
    HeaderFormat,
    OtpType,
    ParameterFormat,
    TemplateCategory,
)
from wanode.messages.templates.values import MAX_CODE
from wanode.messages.templates.variables import NAMED_NAME, POSITIONAL_NAME, variables

MAX_NAME = 512
MAX_HEADER_TEXT = 60
MAX_HEADER_VARIABLES = 1
MAX_BODY = 1024
MAX_FOOTER = 60
MAX_BUTTON_TEXT = 25
MAX_BUTTONS = 10
MAX_QUICK_REPLIES = 3
MAX_URL_BUTTONS = 1
MAX_PHONE_BUTTONS = 1
MAX_COPY_CODE_BUTTONS = 1
MAX_URL = 2000
MAX_PHONE_NUMBER = 20
CODE_EXPIRATION_MINUTES = range(1, 91)

_NAME = re.compile(r"[a-z0-9_]+")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_PHONE = re.compile(r"\+?[0-9]+")
_CTA_LIMITS = (
    (UrlButton, MAX_URL_BUTTONS, "URL"),
    (PhoneNumberButton, MAX_PHONE_BUTTONS, "phone-number"),
    (CopyCodeButton, MAX_COPY_CODE_BUTTONS, "copy-code"),
)


def parse_create(body: Any) -> TemplateDefinition:
    """Read a create request strictly (unknown keys and wrong JSON types refused) and check it."""
    definition = read_graph(body, Reader(strict=True))
    check_creation(definition)
    return definition


def check_creation(definition: TemplateDefinition) -> None:
    """Raise `InvalidMessage` at the first rule `definition` breaks (see the module docstring)."""
    name = text("name", definition.name, max_len=MAX_NAME)
    if not _NAME.fullmatch(name):
        raise InvalidMessage("name", "must be lower-case letters, digits and underscores only")
    if not _LANGUAGE.fullmatch(definition.language):
        raise InvalidMessage("language", "must be a language code such as en or en_US")
    if definition.category is TemplateCategory.UNKNOWN:
        raise InvalidMessage("category", "must be MARKETING, UTILITY or AUTHENTICATION")
    if definition.parameter_format is ParameterFormat.UNKNOWN:
        raise InvalidMessage("parameter_format", "must be POSITIONAL or NAMED")
    _check_ttl(definition)
    seen: set[str] = set()
    for index, component in enumerate(definition.components):
        path = f"components[{index}]"
        if isinstance(component, UnknownComponent):
            raise InvalidMessage(f"{path}.type", f"{component.type!r} is not supported")
        if component.type in seen:
            raise InvalidMessage(path, f"a template has at most one {component.type} component")
        seen.add(component.type)
        _check_component(path, component, definition)
    if Body.type not in seen:
        raise InvalidMessage(
            "components", "a BODY component is mandatory", code=SYNC.MANDATORY_MISSING
        )
    if definition.is_authentication and Buttons.type not in seen:
        raise InvalidMessage(
            "components",
            "an AUTHENTICATION template needs a BUTTONS component with its OTP button",
            code=SYNC.MANDATORY_MISSING,
        )


def _check_ttl(definition: TemplateDefinition) -> None:
    ttl = definition.message_send_ttl_seconds
    if ttl is None:
        return
    if definition.category is TemplateCategory.MARKETING:
        raise InvalidMessage(
            "message_send_ttl_seconds",
            "marketing templates take no TTL here (Marketing Messages Lite sets theirs)",
        )
    if ttl != -1 and ttl <= 0:
        raise InvalidMessage("message_send_ttl_seconds", "must be -1 or a positive number")


def _check_component(
    path: str, component: Header | Body | Footer | Buttons, definition: TemplateDefinition
) -> None:
    auth = definition.is_authentication
    fmt = definition.parameter_format
    if isinstance(component, Header):
        if auth:
            raise InvalidMessage(path, "AUTHENTICATION templates have no header")
        _check_header(path, component, fmt)
    elif isinstance(component, Body):
        if not auth:
            body = text(f"{path}.text", component.text, max_len=MAX_BODY)
            _check_variables(path, body, component.examples, fmt, "body_text")
    elif isinstance(component, Footer):
        if auth:
            minutes = component.code_expiration_minutes
            if minutes is not None and minutes not in CODE_EXPIRATION_MINUTES:
                raise InvalidMessage(f"{path}.code_expiration_minutes", "must be 1 to 90")
        else:
            footer = text(f"{path}.text", component.text, max_len=MAX_FOOTER)
            if variables(footer):
                raise InvalidMessage(f"{path}.text", "a footer has no variables")
            if component.code_expiration_minutes is not None:
                raise InvalidMessage(
                    f"{path}.code_expiration_minutes",
                    "only AUTHENTICATION footers give a code expiry",
                )
    else:
        _check_buttons(path, component.buttons, auth)


def _check_header(path: str, header: Header, fmt: ParameterFormat) -> None:
    if header.format is HeaderFormat.UNKNOWN:
        raise InvalidMessage(f"{path}.format", "must be TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION")
    if header.format is HeaderFormat.TEXT:
        header_text = text(f"{path}.text", header.text, max_len=MAX_HEADER_TEXT)
        count = len(variables(header_text))
        if count > MAX_HEADER_VARIABLES:
            raise InvalidMessage(f"{path}.text", f"has {count} variables; a header has at most one")
        if header.handles:
            raise InvalidMessage(f"{path}.example.header_handle", "only media headers take one")
        _check_variables(path, header_text, header.examples, fmt, "header_text")
        return
    if header.text is not None:
        raise InvalidMessage(f"{path}.text", "only TEXT headers have text")
    if header.examples:
        raise InvalidMessage(f"{path}.example", "only TEXT headers take text examples")
    if header.format is HeaderFormat.LOCATION:
        if header.handles:
            raise InvalidMessage(
                f"{path}.example.header_handle",
                "LOCATION headers take no example: the location is given at send time",
            )
        return
    if len(header.handles) != 1:
        raise InvalidMessage(
            f"{path}.example.header_handle",
            f"a {header.format} header needs one sample media handle (from the resumable upload)",
            code=SYNC.MANDATORY_MISSING if not header.handles else SYNC.INVALID_VALUE,
        )


def _check_variables(
    path: str, value: str, examples: Examples, fmt: ParameterFormat, key: str
) -> None:
    """Variable names fit the format, and the examples give one sample for each variable."""
    names = variables(value)
    if fmt is ParameterFormat.POSITIONAL:
        if any(not POSITIONAL_NAME.fullmatch(name) for name in names):
            raise InvalidMessage(
                f"{path}.text", "POSITIONAL templates number their variables: {{1}}, {{2}}..."
            )
        if sorted(map(int, names)) != list(range(1, len(names) + 1)):
            raise InvalidMessage(
                f"{path}.text",
                f"variables must be numbered {{{{1}}}} to {{{{{len(names)}}}}} without gaps",
            )
        example_path = f"{path}.example.{key}"
    else:
        bad = next((name for name in names if not NAMED_NAME.fullmatch(name)), None)
        if bad is not None:
            raise InvalidMessage(
                f"{path}.text",
                f"{{{{{bad}}}}}: NAMED templates name their variables with lower-case letters "
                "and underscores ({{first_name}})",
            )
        example_path = f"{path}.example.{key}_named_params"
    if not names:
        if examples:
            raise InvalidMessage(example_path, "the text has no variables to give examples for")
        return
    if not examples:
        raise InvalidMessage(
            example_path, "examples are mandatory for variables", code=SYNC.MANDATORY_MISSING
        )
    if len(examples) != len(names):
        raise InvalidMessage(
            example_path, f"has {len(examples)} examples for {len(names)} variables"
        )
    if fmt is ParameterFormat.NAMED and sorted(n for n, _ in examples) != sorted(names):
        raise InvalidMessage(example_path, f"must give one example for each of {', '.join(names)}")
    for index, (_, example) in enumerate(examples):
        if not example.strip():
            raise InvalidMessage(
                f"{example_path}[{index}]", "must not be empty", code=SYNC.MANDATORY_MISSING
            )


def _check_buttons(path: str, buttons: tuple[Button, ...], auth: bool) -> None:
    field = f"{path}.buttons"
    if not buttons:
        raise InvalidMessage(field, "at least one button is mandatory", code=SYNC.MANDATORY_MISSING)
    if len(buttons) > MAX_BUTTONS:
        raise InvalidMessage(
            field, f"has {len(buttons)} buttons; at most {MAX_BUTTONS} are allowed"
        )
    for index, button in enumerate(buttons):
        _check_button(f"{field}[{index}]", button, auth)
    if auth:
        if len(buttons) != 1:
            raise InvalidMessage(field, "an AUTHENTICATION template has exactly one OTP button")
        return
    quick = sum(isinstance(b, QuickReplyButton) for b in buttons)
    if quick and quick != len(buttons):
        raise InvalidMessage(
            field, "quick replies and call-to-action buttons cannot be mixed (spec)"
        )
    if quick > MAX_QUICK_REPLIES:
        raise InvalidMessage(
            field, f"has {quick} quick replies; at most {MAX_QUICK_REPLIES} are allowed (spec)"
        )
    for kind, limit, label in _CTA_LIMITS:
        count = sum(isinstance(b, kind) for b in buttons)
        if count > limit:
            raise InvalidMessage(
                field, f"has {count} {label} buttons; at most {limit} is allowed (spec)"
            )


def _check_button(path: str, button: Button, auth: bool) -> None:
    if isinstance(button, OtherButton):
        raise InvalidMessage(f"{path}.type", f"{button.type!r} buttons are not supported")
    if isinstance(button, OtpButton):
        if not auth:
            raise InvalidMessage(
                f"{path}.type", "OTP buttons are for AUTHENTICATION templates only"
            )
        _check_otp(path, button)
        return
    if auth:
        raise InvalidMessage(f"{path}.type", "an AUTHENTICATION template has an OTP button only")
    if isinstance(button, CopyCodeButton):
        code = text(f"{path}.example", button.example)
        if len(code) > MAX_CODE or any(c.isspace() for c in code):
            raise InvalidMessage(
                f"{path}.example", f"must be a code of at most {MAX_CODE} characters, no spaces"
            )
        return
    text(f"{path}.text", button.text, max_len=MAX_BUTTON_TEXT)
    if isinstance(button, UrlButton):
        _check_url(path, button)
    elif isinstance(button, PhoneNumberButton):
        number = text(f"{path}.phone_number", button.phone_number, max_len=MAX_PHONE_NUMBER)
        if not _PHONE.fullmatch(number):
            raise InvalidMessage(
                f"{path}.phone_number", "must be digits with an optional leading +"
            )


def _check_url(path: str, button: UrlButton) -> None:
    url = text(f"{path}.url", button.url, max_len=MAX_URL)
    names = variables(url)
    if names and (names != ("1",) or not url.endswith("{{1}}") or url.count("{{") != 1):
        raise InvalidMessage(f"{path}.url", "may have one variable only, {{1}} at its end")
    http_url(f"{path}.url", url)
    if names and button.example is None:
        raise InvalidMessage(
            f"{path}.example",
            "an example is mandatory for a URL with a variable",
            code=SYNC.MANDATORY_MISSING,
        )
    if names:
        text(f"{path}.example", button.example)
    elif button.example is not None:
        raise InvalidMessage(f"{path}.example", "the URL has no variable to give an example for")


def _check_otp(path: str, button: OtpButton) -> None:
    if button.otp_type not in (OtpType.COPY_CODE, OtpType.ONE_TAP):
        raise InvalidMessage(f"{path}.otp_type", "must be COPY_CODE or ONE_TAP")
    if button.text is not None:
        text(f"{path}.text", button.text, max_len=MAX_BUTTON_TEXT)
    if button.otp_type is OtpType.COPY_CODE:
        if button.autofill_text is not None or button.supported_apps:
            raise InvalidMessage(
                f"{path}.otp_type", "only ONE_TAP buttons take autofill_text and supported_apps"
            )
        return
    if button.autofill_text is not None:
        text(f"{path}.autofill_text", button.autofill_text, max_len=MAX_BUTTON_TEXT)
    if not button.supported_apps:
        raise InvalidMessage(
            f"{path}.supported_apps",
            "a ONE_TAP button needs the app's package_name and signature_hash",
            code=SYNC.MANDATORY_MISSING,
        )
    for index, app in enumerate(button.supported_apps):
        text(f"{path}.supported_apps[{index}].package_name", app.package_name)
        text(f"{path}.supported_apps[{index}].signature_hash", app.signature_hash)
