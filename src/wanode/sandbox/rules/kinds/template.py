"""Template messages, send side (cloud-api.md §2): the shape of the `template` object.

This check needs no template: it reads the name, the language and the parameters, and refuses
what Meta refuses whatever the template (100 for an unknown key or a wrong JSON type, 131008
for a missing value, 131009 for a bad one). Whether the parameters fit the approved template
(132000, 132001, 132005, 132012, 132015, 132016) is `hydration`'s to judge when the sandbox
accepts the message, as it resolves media ids then too.

Component and button `type`/`sub_type` values are read case-insensitively: Meta's docs write
`COPY_CODE` upper-case where the rest is lower-case. A button `index` is a string ("0") or a
number, 0 to 9. Button sub-types other than quick_reply, url and copy_code (catalog, flow,
mpm...) and `action` parameters need catalogues or Flows the sandbox does not have: 131009.
"""

from __future__ import annotations

import re
from typing import Any

from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.fields import array, choice, obj, optional_string, string
from wanode.sandbox.rules.kinds.content import (
    ButtonParameters,
    Content,
    MediaRef,
    Parameter,
    TemplateSend,
)
from wanode.sandbox.rules.kinds.location import describe, place
from wanode.sandbox.rules.kinds.media import describe as describe_media
from wanode.sandbox.rules.kinds.media import media_object

COMPONENTS = ("header", "body", "button")
PARAMETER_TYPES = (
    "text",
    "currency",
    "date_time",
    "image",
    "video",
    "document",
    "location",
    "payload",
    "coupon_code",
    "action",
)
SUB_TYPES = ("quick_reply", "url", "copy_code")
UNSUPPORTED_SUB_TYPES = ("catalog", "flow", "mpm", "voice_call", "order_details", "spm")
BUTTON_PARAMETER = {"quick_reply": "payload", "url": "text", "copy_code": "coupon_code"}
MAX_BUTTON_INDEX = 9
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_INDEX = re.compile(r"[0-9]+")
_DATE_TIME_LEGACY = (
    "day_of_week",
    "year",
    "month",
    "day_of_month",
    "hour",
    "minute",
    "calendar",
    "timestamp",
)


def check(body: Any, config: SandboxConfig) -> Content:
    template = obj(body, "template", ("name", "language", "components"), required=("name",))
    name = string(template["name"], "template.name")
    if "language" not in template:
        raise MetaError(131008, "template.language: is required")
    language = obj(
        template["language"], "template.language", ("code", "policy"), required=("code",)
    )
    code = string(language["code"], "template.language.code")
    if "policy" in language:
        choice(language["policy"], "template.language.policy", ("deterministic",))
    header: tuple[Parameter, ...] | None = None
    body_parameters: tuple[Parameter, ...] | None = None
    buttons: list[ButtonParameters] = []
    media: list[MediaRef] = []
    for index, value in enumerate(array(template.get("components", []), "template.components")):
        path = f"template.components[{index}]"
        component = obj(
            value, path, ("type", "sub_type", "index", "parameters"), required=("type",)
        )
        kind = _lower_choice(component["type"], f"{path}.type", COMPONENTS)
        if kind != "button":
            for key in ("sub_type", "index"):
                if key in component:
                    raise MetaError(100, f"{path}.{key}: only button components take a {key}")
        parameters = tuple(
            _parameter(item, f"{path}.parameters[{number}]", media)
            for number, item in enumerate(
                array(component.get("parameters", []), f"{path}.parameters")
            )
        )
        if kind == "header":
            if header is not None:
                raise MetaError(131009, f"{path}: a template message has one header component")
            header = parameters
        elif kind == "body":
            if body_parameters is not None:
                raise MetaError(131009, f"{path}: a template message has one body component")
            body_parameters = parameters
        else:
            button = _button(component, path, parameters)
            if any(b.index == button.index for b in buttons):
                raise MetaError(
                    131009, f"{path}.index: button {button.index} has two button components"
                )
            buttons.append(button)
    send = TemplateSend(name, code, header, body_parameters, tuple(buttons))
    return Content(f"[template {name} ({code})]", tuple(media), template=send)


def _button(
    component: dict[str, Any], path: str, parameters: tuple[Parameter, ...]
) -> ButtonParameters:
    if "sub_type" not in component:
        raise MetaError(131008, f"{path}.sub_type: is required for a button component")
    sub_type = _lower_choice(component["sub_type"], f"{path}.sub_type", SUB_TYPES)
    if "index" not in component:
        raise MetaError(131008, f"{path}.index: is required for a button component")
    index = _index(component["index"], f"{path}.index")
    if len(parameters) != 1:
        raise MetaError(
            131009 if parameters else 131008,
            f"{path}.parameters: a button component takes exactly one parameter",
        )
    expected = BUTTON_PARAMETER[sub_type]
    if parameters[0].type != expected:
        raise MetaError(
            131009,
            f"{parameters[0].path}.type: a {sub_type} button takes a {expected} parameter",
        )
    return ButtonParameters(sub_type, index, parameters, path)


def _index(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MetaError(100, f'{path}: must be a string such as "0"')
    text = str(value)
    if not _INDEX.fullmatch(text) or int(text) > MAX_BUTTON_INDEX:
        raise MetaError(131009, f"{path}: {value!r} is not a button position from 0 to 9")
    return int(text)


def _parameter(value: Any, path: str, media: list[MediaRef]) -> Parameter:
    if not isinstance(value, dict):
        raise MetaError(100, f"{path}: must be an object")
    if value.get("type") is None:
        raise MetaError(131008, f"{path}.type: is required")
    kind = choice(value["type"], f"{path}.type", PARAMETER_TYPES)
    if kind == "action":
        raise MetaError(
            131009, f"{path}.type: 'action' parameters are not supported by the sandbox"
        )
    named = ("parameter_name",) if kind in ("text", "currency", "date_time") else ()
    parameter = obj(value, path, ("type", kind, *named), required=(kind,))
    name = optional_string(parameter.get("parameter_name"), f"{path}.parameter_name")
    at = f"{path}.{kind}"
    if kind in ("text", "payload", "coupon_code"):
        return Parameter(kind, string(parameter[kind], at), path, name)
    if kind == "currency":
        currency = obj(
            parameter[kind],
            at,
            ("fallback_value", "code", "amount_1000"),
            required=("fallback_value", "code", "amount_1000"),
        )
        code = string(currency["code"], f"{at}.code")
        if not _CURRENCY_CODE.fullmatch(code):
            raise MetaError(131009, f"{at}.code: {code!r} is not an ISO 4217 currency code")
        amount = currency["amount_1000"]
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise MetaError(100, f"{at}.amount_1000: must be an integer (the amount x 1000)")
        return Parameter(
            kind, string(currency["fallback_value"], f"{at}.fallback_value"), path, name
        )
    if kind == "date_time":
        moment = obj(
            parameter[kind],
            at,
            ("fallback_value", *_DATE_TIME_LEGACY),
            required=("fallback_value",),
        )
        # The Cloud API always renders the fallback value; the legacy fields are ignored (§2).
        return Parameter(kind, string(moment["fallback_value"], f"{at}.fallback_value"), path, name)
    if kind == "location":
        return Parameter(kind, describe(place(parameter[kind], at)), path)
    extras = ("filename",) if kind == "document" else ()
    found, ref = media_object(parameter[kind], at, kind, extras)
    media.append(ref)
    return Parameter(kind, describe_media(kind, found), path)


def _lower_choice(value: Any, path: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise MetaError(100, f"{path}: must be a string")
    lower = value.lower()
    if lower in UNSUPPORTED_SUB_TYPES:
        raise MetaError(131009, f"{path}: {value!r} buttons are not supported by the sandbox")
    if lower not in allowed:
        raise MetaError(131009, f"{path}: {value!r} is not one of {', '.join(allowed)}")
    return lower
