"""Interactive messages (cloud-api.md §1.2): reply buttons, lists, CTA URL and location requests.

The other types Meta has (flow, product, product_list, catalog_message,
call_permission_request) need catalogues or Flows the sandbox does not have: they are refused
with 131009 saying so, rather than accepted unchecked.

The list button label's limit is `SandboxConfig.list_button_max` (see its docstring).
"""

from __future__ import annotations

from typing import Any

from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.fields import array, choice, http_url, obj, optional_string, string
from wanode.sandbox.rules.kinds.content import Content, KindCheck, MediaRef, lines
from wanode.sandbox.rules.kinds.media import media_object

TYPES = (
    "button",
    "list",
    "cta_url",
    "location_request_message",
    "flow",
    "product",
    "product_list",
    "catalog_message",
    "call_permission_request",
)
UNSUPPORTED = frozenset(
    {"flow", "product", "product_list", "catalog_message", "call_permission_request"}
)
MAX_HEADER = 60
MAX_BODY = 1024
MAX_FOOTER = 60
MAX_BUTTONS = 3
MAX_BUTTON_ID = 256
MAX_BUTTON_TITLE = 20
MAX_SECTIONS = 10
MAX_ROWS = 10
MAX_SECTION_TITLE = 24
MAX_ROW_ID = 200
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_CTA_DISPLAY_TEXT = 20

_FRAME = ("type", "header", "body", "footer", "action")
_MEDIA_HEADERS = ("image", "video", "document")


def check(body: Any, config: SandboxConfig) -> Content:
    if not isinstance(body, dict):
        raise MetaError(100, "interactive: must be an object")
    if body.get("type") is None:
        raise MetaError(131008, "interactive.type: is required")
    kind = choice(body["type"], "interactive.type", TYPES)
    if kind in UNSUPPORTED:
        raise MetaError(131009, f"interactive.type: {kind!r} is not supported by the sandbox")
    return _CHECKS[kind](body, config)


def _reply_buttons(body: Any, config: SandboxConfig) -> Content:
    message = obj(body, "interactive", _FRAME, required=("body", "action"))
    header, media = _header(message, with_media=True)
    text, footer = _body_and_footer(message)
    action = obj(message["action"], "interactive.action", ("buttons",), required=("buttons",))
    buttons = array(
        action["buttons"], "interactive.action.buttons", min_items=1, max_items=MAX_BUTTONS
    )
    ids: set[str] = set()
    titles: set[str] = set()
    labels = []
    for index, value in enumerate(buttons):
        path = f"interactive.action.buttons[{index}]"
        button = obj(value, path, ("type", "reply"), required=("type", "reply"))
        choice(button["type"], f"{path}.type", ("reply",))
        reply = obj(button["reply"], f"{path}.reply", ("id", "title"), required=("id", "title"))
        button_id = string(reply["id"], f"{path}.reply.id", max_len=MAX_BUTTON_ID)
        if button_id != button_id.strip():
            raise MetaError(131009, f"{path}.reply.id: must not start or end with spaces")
        _unique(button_id, ids, f"{path}.reply.id", "button ids")
        title = string(reply["title"], f"{path}.reply.title", max_len=MAX_BUTTON_TITLE)
        _unique(title, titles, f"{path}.reply.title", "button titles")
        labels.append(f"[{title}]")
    return Content(lines(header, text, footer, " ".join(labels)), media)


def _list(body: Any, config: SandboxConfig) -> Content:
    message = obj(body, "interactive", _FRAME, required=("body", "action"))
    header, _ = _header(message, with_media=False)
    text, footer = _body_and_footer(message)
    action = obj(
        message["action"],
        "interactive.action",
        ("button", "sections"),
        required=("button", "sections"),
    )
    label = string(action["button"], "interactive.action.button", max_len=config.list_button_max)
    sections = array(
        action["sections"], "interactive.action.sections", min_items=1, max_items=MAX_SECTIONS
    )
    row_ids: set[str] = set()
    menu = []
    for index, value in enumerate(sections):
        path = f"interactive.action.sections[{index}]"
        section = obj(value, path, ("title", "rows"), required=("rows",))
        title = None
        if "title" in section:
            title = string(section["title"], f"{path}.title", max_len=MAX_SECTION_TITLE)
        elif len(sections) > 1:
            raise MetaError(
                131008, f"{path}.title: is required when there is more than one section"
            )
        rows = [
            _row(row, f"{path}.rows[{number}]", row_ids)
            for number, row in enumerate(array(section["rows"], f"{path}.rows", min_items=1))
        ]
        menu.append(f"{title}: {', '.join(rows)}" if title else ", ".join(rows))
    # Every row has been checked, so each holds one distinct id: the ids count the rows.
    if len(row_ids) > MAX_ROWS:
        raise MetaError(
            131009,
            f"interactive.action.sections: at most {MAX_ROWS} rows in total (got {len(row_ids)})",
        )
    return Content(lines(header, text, footer, f"[{label}] {' | '.join(menu)}"))


def _row(value: Any, path: str, row_ids: set[str]) -> str:
    """Check one list row; returns how the inbox shows it."""
    row = obj(value, path, ("id", "title", "description"), required=("id", "title"))
    _unique(string(row["id"], f"{path}.id", max_len=MAX_ROW_ID), row_ids, f"{path}.id", "row ids")
    title = string(row["title"], f"{path}.title", max_len=MAX_ROW_TITLE)
    description = optional_string(
        row.get("description"), f"{path}.description", max_len=MAX_ROW_DESCRIPTION
    )
    return f"{title} ({description})" if description else title


def _cta_url(body: Any, config: SandboxConfig) -> Content:
    message = obj(body, "interactive", _FRAME, required=("body", "action"))
    header, media = _header(message, with_media=True)
    text, footer = _body_and_footer(message)
    action = obj(
        message["action"],
        "interactive.action",
        ("name", "parameters"),
        required=("name", "parameters"),
    )
    choice(action["name"], "interactive.action.name", ("cta_url",))
    path = "interactive.action.parameters"
    parameters = obj(
        action["parameters"], path, ("display_text", "url"), required=("display_text", "url")
    )
    display_text = string(
        parameters["display_text"], f"{path}.display_text", max_len=MAX_CTA_DISPLAY_TEXT
    )
    url = http_url(parameters["url"], f"{path}.url")
    return Content(lines(header, text, footer, f"[{display_text}] {url}"), media)


def _location_request(body: Any, config: SandboxConfig) -> Content:
    message = obj(body, "interactive", ("type", "body", "action"), required=("body", "action"))
    text = _text_of(message["body"], "interactive.body", MAX_BODY)
    action = obj(message["action"], "interactive.action", ("name",), required=("name",))
    choice(action["name"], "interactive.action.name", ("send_location",))
    return Content(lines(text, "[Send location]"))


def _header(
    message: dict[str, Any], *, with_media: bool
) -> tuple[str | None, tuple[MediaRef, ...]]:
    """The header's text (or `[image]` for media), and the media it sends, if any."""
    if "header" not in message:
        return None, ()
    path = "interactive.header"
    value = message["header"]
    if not isinstance(value, dict):
        raise MetaError(100, f"{path}: must be an object")
    if value.get("type") is None:
        raise MetaError(131008, f"{path}.type: is required")
    kind = choice(
        value["type"], f"{path}.type", ("text", *_MEDIA_HEADERS) if with_media else ("text",)
    )
    header = obj(value, path, ("type", kind), required=(kind,))
    if kind == "text":
        return string(header["text"], f"{path}.text", max_len=MAX_HEADER), ()
    extras = ("filename",) if kind == "document" else ()
    _, ref = media_object(header[kind], f"{path}.{kind}", kind, extras)
    return f"[{kind}]", (ref,)


def _body_and_footer(message: dict[str, Any]) -> tuple[str, str | None]:
    body = _text_of(message["body"], "interactive.body", MAX_BODY)
    footer = (
        _text_of(message["footer"], "interactive.footer", MAX_FOOTER)
        if "footer" in message
        else None
    )
    return body, footer


def _text_of(value: Any, path: str, max_len: int) -> str:
    """The `text` of a `{"text": ...}` object (body, footer)."""
    return string(
        obj(value, path, ("text",), required=("text",))["text"], f"{path}.text", max_len=max_len
    )


def _unique(value: str, seen: set[str], path: str, what: str) -> None:
    if value in seen:
        raise MetaError(131009, f"{path}: {value!r} is used twice; {what} must be unique")
    seen.add(value)


_CHECKS: dict[str, KindCheck] = {
    "button": _reply_buttons,
    "list": _list,
    "cta_url": _cta_url,
    "location_request_message": _location_request,
}
