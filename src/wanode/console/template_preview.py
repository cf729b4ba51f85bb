"""A template as the customer would see it, drawn from its Graph components with sample values:
the values given, else the template's own examples, else the variable's name in brackets.
Also: the Graph create body the templates page's form stands for. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_MEDIA_HEADERS = ("IMAGE", "VIDEO", "DOCUMENT", "LOCATION")


@dataclass
class Preview:
    header: str | None = None
    header_media: str | None = None
    body: str = ""
    footer: str | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)


def _component(components: list[Any], kind: str) -> dict[str, Any]:
    for component in components:
        if isinstance(component, dict) and str(component.get("type", "")).upper() == kind:
            return component
    return {}


def examples(components: list[Any]) -> dict[str, str]:
    """The template's own sample value of each variable, by the variable's name ("1", "2"...
    or a NAMED parameter's name); header variables are `header.<name>`."""
    found: dict[str, str] = {}
    for kind, prefix in (("HEADER", "header."), ("BODY", "")):
        component = _component(components, kind)
        example = component.get("example") or {}
        names = VARIABLE.findall(str(component.get("text") or ""))
        positional = example.get(f"{kind.lower()}_text")
        if isinstance(positional, list) and positional:
            values = positional[0] if isinstance(positional[0], list) else positional
            for name, value in zip(names, values, strict=False):
                found[prefix + name] = str(value)
        for param in example.get(f"{kind.lower()}_text_named_params") or []:
            if isinstance(param, dict) and "param_name" in param:
                found[prefix + str(param["param_name"])] = str(param.get("example", ""))
    return found


def variables(components: list[Any]) -> list[str]:
    """Every variable of the header (as `header.<name>`) and the body, in order."""
    header = VARIABLE.findall(str(_component(components, "HEADER").get("text") or ""))
    body = VARIABLE.findall(str(_component(components, "BODY").get("text") or ""))
    return [f"header.{name}" for name in header] + list(dict.fromkeys(body))


def render(components: list[Any], values: Mapping[str, str] | None = None) -> Preview:
    """The preview of a template's Graph `components` with `values` for its variables."""
    samples = {**examples(components), **{k: v for k, v in (values or {}).items() if v}}

    def fill(text: str, prefix: str = "") -> str:
        return VARIABLE.sub(lambda m: samples.get(prefix + m.group(1), f"[{m.group(1)}]"), text)

    header = _component(components, "HEADER")
    preview = Preview()
    fmt = str(header.get("format", "TEXT")).upper() if header else ""
    if fmt == "TEXT":
        preview.header = fill(str(header.get("text") or ""), "header.")
    elif fmt in _MEDIA_HEADERS:
        preview.header_media = fmt.lower()
    preview.body = fill(str(_component(components, "BODY").get("text") or ""))
    footer = _component(components, "FOOTER").get("text")
    preview.footer = str(footer) if footer else None
    for button in _component(components, "BUTTONS").get("buttons") or []:
        if not isinstance(button, dict):
            continue
        kind = str(button.get("type", "")).upper()
        detail = button.get("url") or button.get("phone_number") or ""
        preview.buttons.append(
            {"type": kind, "text": str(button.get("text") or kind), "detail": str(detail)}
        )
    return preview


def create_body(fields: Mapping[str, str]) -> dict[str, Any]:
    """The Graph create body of the templates page's form: name, language, category, a text
    header, a body with sample values (one a line), a footer, quick replies (one a line)."""
    body_text = fields.get("body", "")
    names = list(dict.fromkeys(VARIABLE.findall(body_text)))
    samples = [line.strip() for line in fields.get("samples", "").splitlines() if line.strip()]
    named = any(not name.isdigit() for name in names)
    body: dict[str, Any] = {"type": "BODY", "text": body_text}
    if names:
        if named:
            body["example"] = {
                "body_text_named_params": [
                    {"param_name": name, "example": value}
                    for name, value in zip(names, samples, strict=False)
                ]
            }
        else:
            body["example"] = {"body_text": [samples]}
    components: list[dict[str, Any]] = []
    header_text = fields.get("header", "").strip()
    if header_text:
        header: dict[str, Any] = {"type": "HEADER", "format": "TEXT", "text": header_text}
        header_names = VARIABLE.findall(header_text)
        sample = fields.get("header_sample", "").strip()
        if header_names and sample:
            if named:
                header["example"] = {
                    "header_text_named_params": [{"param_name": header_names[0], "example": sample}]
                }
            else:
                header["example"] = {"header_text": [sample]}
        components.append(header)
    components.append(body)
    footer = fields.get("footer", "").strip()
    if footer:
        components.append({"type": "FOOTER", "text": footer})
    replies = [
        line.strip() for line in fields.get("quick_replies", "").splitlines() if line.strip()
    ]
    if replies:
        components.append(
            {
                "type": "BUTTONS",
                "buttons": [{"type": "QUICK_REPLY", "text": text} for text in replies],
            }
        )
    graph: dict[str, Any] = {
        "name": fields.get("name", "").strip(),
        "language": fields.get("language", "").strip(),
        "category": fields.get("category", "").strip(),
        "components": components,
    }
    if named:
        graph["parameter_format"] = "NAMED"
    return graph
