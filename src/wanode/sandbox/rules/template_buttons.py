"""Meta's rules for a template definition's buttons (cloud-api.md §3.1; the list is in
`template_spec`'s docstring): one parser per button type, each answering the `Button` and the
button as Graph shows it."""

from __future__ import annotations

import re
from typing import Any

from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.fields import array, http_url, obj, optional_string, string
from wanode.sandbox.rules.template_spec import (
    AUTOFILL_LABEL,
    COPY_CODE_LABEL,
    MAX_COUPON,
    MAX_LABEL,
    MAX_PHONE,
    MAX_URL,
    OTP_LABEL,
    OTP_TYPES,
    URL_VARIABLE,
    Button,
    upper_choice,
)

_PHONE = re.compile(r"\+?[0-9]+")


def _quick_reply(item: dict[str, Any], path: str) -> tuple[Button, dict[str, Any]]:
    button = obj(item, path, ("type", "text"), required=("text",))
    label = string(button["text"], f"{path}.text", max_len=MAX_LABEL)
    return Button("QUICK_REPLY", label), {"type": "QUICK_REPLY", "text": label}


def _url(item: dict[str, Any], path: str) -> tuple[Button, dict[str, Any]]:
    button = obj(item, path, ("type", "text", "url", "example"), required=("text", "url"))
    label = string(button["text"], f"{path}.text", max_len=MAX_LABEL)
    url = string(button["url"], f"{path}.url", max_len=MAX_URL)
    fixed = url.removesuffix(URL_VARIABLE)
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
    otp_type = upper_choice(button["otp_type"], f"{path}.otp_type", OTP_TYPES)
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


BUTTONS = {
    "QUICK_REPLY": _quick_reply,
    "URL": _url,
    "PHONE_NUMBER": _phone_number,
    "COPY_CODE": _copy_code,
    "OTP": _otp,
}
