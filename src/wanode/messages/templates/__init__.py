"""Message templates: definitions as Meta holds them, Meta's creation rules, and sends.

- `TemplateDefinition` (`definition`, `components`): read from Graph JSON leniently with
  `from_graph`, written as a create request with `to_graph`;
- `check_creation` / `parse_create` (`creation`): Meta's and the spec's rules for a new template;
- `TemplateMessage` (`message`): an approved template bound to its parameters, rendered to the
  Cloud API send payload; `bind_webex` / `bind_native` (`binding`) read the two request shapes;
  `hydrate` gives the body as delivered;
- `FAILURE_CODES` (`failures`): the Messaging API code of each way a send can fail.
"""

from wanode.messages.templates.binding import bind_native, bind_webex
from wanode.messages.templates.components import (
    Body,
    Button,
    Buttons,
    Component,
    CopyCodeButton,
    Footer,
    Header,
    OtherButton,
    OtpButton,
    PhoneNumberButton,
    QuickReplyButton,
    SupportedApp,
    UnknownComponent,
    UrlButton,
)
from wanode.messages.templates.creation import check_creation, parse_create
from wanode.messages.templates.definition import TemplateDefinition
from wanode.messages.templates.enums import (
    HeaderFormat,
    OtpType,
    ParameterFormat,
    TemplateCategory,
    TemplateQuality,
    TemplateStatus,
)
from wanode.messages.templates.failures import (
    FAILURE_CODES,
    UNKNOWN_TEMPLATE_ID,
    Failure,
    code_for,
    status_failure,
)
from wanode.messages.templates.message import (
    TemplateMessage,
    check_sendable,
    hydrate,
    hydrate_header,
    parameter_names,
)
from wanode.messages.templates.values import (
    CouponCode,
    Currency,
    DateTime,
    Otp,
    Parameter,
    QuickReply,
    UrlSuffix,
)
from wanode.messages.templates.variables import variables

__all__ = [
    "FAILURE_CODES",
    "UNKNOWN_TEMPLATE_ID",
    "Body",
    "Button",
    "Buttons",
    "Component",
    "CopyCodeButton",
    "CouponCode",
    "Currency",
    "DateTime",
    "Failure",
    "Footer",
    "Header",
    "HeaderFormat",
    "OtherButton",
    "Otp",
    "OtpButton",
    "OtpType",
    "Parameter",
    "ParameterFormat",
    "PhoneNumberButton",
    "QuickReply",
    "QuickReplyButton",
    "SupportedApp",
    "TemplateCategory",
    "TemplateDefinition",
    "TemplateMessage",
    "TemplateQuality",
    "TemplateStatus",
    "UnknownComponent",
    "UrlButton",
    "UrlSuffix",
    "bind_native",
    "bind_webex",
    "check_creation",
    "check_sendable",
    "code_for",
    "hydrate",
    "hydrate_header",
    "parameter_names",
    "parse_create",
    "status_failure",
    "variables",
]
