"""Meta's rules for a template definition: `POST /{waba-id}/message_templates` (cloud-api.md §3.1).

`parse_template` turns a create request into a `TemplateSpec` or raises `MetaError` 100
("Invalid parameter") naming the field, which is how Graph refuses a management call. The rules
(`parse_template` is in `template_parser`, the buttons' in `template_buttons`):

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

from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.fields import string

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

VARIABLE = re.compile(r"\{\{(.*?)\}\}")
URL_VARIABLE = "{{1}}"


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
            return self.url is not None and self.url.endswith(URL_VARIABLE)
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


def upper_choice(
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


def one_line_text(value: Any, path: str, max_len: int) -> str:
    text = string(value, path, max_len=max_len)
    if "\n" in text:
        raise MetaError(100, f"{path}: must be a single line")
    return text
