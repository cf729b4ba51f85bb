"""Interactive messages: list messages and reply buttons.

Both render to `{"type": "interactive", "interactive": {"type": "list" | "button", ...}}`.
The Webex `list` / `reply` objects are the Cloud API `interactive` object without its `type`,
so one parser serves both shapes; only media keys in a reply header differ (`url` vs `link`).

The list button label may have up to 24 characters: that is the spec's figure (the node UI).
Meta's API documentation and OpenAPI document say 20. This layer validates the spec; whether a
label of 21-24 characters gets through is decided downstream (the sandbox mirrors Meta).

Every list section needs a title: the spec says so ("List Section: Must contain a title and at
least one row"), and the spec wins over the Messaging API and Meta, which require one only
when there is more than one section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from wanode.codes import SYNC
from wanode.messages._fields import at, each, items, obj, optional_text, text
from wanode.messages.envelope import Message
from wanode.messages.errors import InvalidMessage
from wanode.messages.media import Document, Image, Video, parse_media

MAX_HEADER = 60
MAX_BODY = 1024
MAX_FOOTER = 60
MAX_LIST_BUTTON = 24
MAX_SECTIONS = 10
MAX_SECTION_TITLE = 24
MAX_ROWS = 10
MAX_ROW_ID = 200
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_BUTTONS = 3
MAX_BUTTON_ID = 200
MAX_BUTTON_TITLE = 20

HeaderMedia = Image | Video | Document


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    description: str | None = None

    def __post_init__(self) -> None:
        text("id", self.id, max_len=MAX_ROW_ID)
        text("title", self.title, max_len=MAX_ROW_TITLE)
        optional_text("description", self.description, max_len=MAX_ROW_DESCRIPTION)

    def render(self) -> dict[str, Any]:
        row = {"id": self.id, "title": self.title}
        return row if self.description is None else {**row, "description": self.description}


@dataclass(frozen=True)
class Section:
    rows: tuple[Row, ...]
    title: str | None = None

    def __post_init__(self) -> None:
        rows = items("rows", self.rows, Row)
        if not rows:
            raise InvalidMessage(
                "rows", "at least one row is mandatory", code=SYNC.MANDATORY_MISSING
            )
        object.__setattr__(self, "rows", rows)
        optional_text("title", self.title, max_len=MAX_SECTION_TITLE)

    def render(self) -> dict[str, Any]:
        rows = [row.render() for row in self.rows]
        return {"rows": rows} if self.title is None else {"title": self.title, "rows": rows}


@dataclass(frozen=True)
class ListMessage(Message):
    """A body with a button that opens a menu of up to 10 rows in up to 10 sections."""

    body: str
    button: str
    sections: tuple[Section, ...]
    header: str | None = None
    footer: str | None = None

    kind: ClassVar[str] = "list"

    def __post_init__(self) -> None:
        optional_text("header.text", self.header, max_len=MAX_HEADER)
        text("body.text", self.body, max_len=MAX_BODY)
        optional_text("footer.text", self.footer, max_len=MAX_FOOTER)
        text("action.button", self.button, max_len=MAX_LIST_BUTTON)
        sections = items("action.sections", self.sections, Section)
        object.__setattr__(self, "sections", sections)
        if not sections:
            raise InvalidMessage(
                "action.sections", "at least one section is mandatory", code=SYNC.MANDATORY_MISSING
            )
        if len(sections) > MAX_SECTIONS:
            raise InvalidMessage(
                "action.sections",
                f"has {len(sections)} sections; at most {MAX_SECTIONS} are allowed",
            )
        rows = sum(len(section.rows) for section in sections)
        if rows > MAX_ROWS:
            raise InvalidMessage(
                "action.sections", f"has {rows} rows in all; at most {MAX_ROWS} are allowed"
            )
        seen: set[str] = set()
        for i, section in enumerate(sections):
            if section.title is None:
                raise InvalidMessage(
                    f"action.sections[{i}].title",
                    "is mandatory: every list section needs a title",
                    code=SYNC.MANDATORY_MISSING,
                )
            for j, row in enumerate(section.rows):
                if row.id in seen:
                    raise InvalidMessage(
                        f"action.sections[{i}].rows[{j}].id",
                        f"{row.id!r} is used by another row; row ids must be unique",
                    )
                seen.add(row.id)

    def content(self) -> dict[str, Any]:
        interactive: dict[str, Any] = {"type": "list"}
        if self.header is not None:
            interactive["header"] = {"type": "text", "text": self.header}
        interactive["body"] = {"text": self.body}
        if self.footer is not None:
            interactive["footer"] = {"text": self.footer}
        interactive["action"] = {
            "button": self.button,
            "sections": [section.render() for section in self.sections],
        }
        return {"type": "interactive", "interactive": interactive}

    @classmethod
    def from_json(cls, value: Any) -> ListMessage:
        """Parse a Webex `list` object, or a Cloud API `interactive` object without `type`."""
        data = obj(value, ("header", "body", "footer", "action"), required=("body", "action"))
        with at("action"):
            action = obj(data["action"], ("button", "sections"), required=("button", "sections"))
            with at("sections"):
                sections = each(action["sections"], _section)
        return cls(
            header=_text_header(data["header"]) if "header" in data else None,
            body=_text_of("body", data["body"]),
            footer=_text_of("footer", data["footer"]) if "footer" in data else None,
            button=action["button"],
            sections=sections,
        )


@dataclass(frozen=True)
class ReplyButton:
    id: str
    title: str

    def __post_init__(self) -> None:
        button_id = text("id", self.id, max_len=MAX_BUTTON_ID)
        if button_id != button_id.strip():
            raise InvalidMessage("id", "must not start or end with spaces")
        text("title", self.title, max_len=MAX_BUTTON_TITLE)

    def render(self) -> dict[str, Any]:
        return {"type": "reply", "reply": {"id": self.id, "title": self.title}}


@dataclass(frozen=True)
class ReplyButtons(Message):
    """A body with up to 3 buttons; the header is text or an image, video or document."""

    body: str
    buttons: tuple[ReplyButton, ...]
    header: str | HeaderMedia | None = None
    footer: str | None = None

    kind: ClassVar[str] = "reply"

    def __post_init__(self) -> None:
        if isinstance(self.header, Image | Video | Document):
            if self.header.caption is not None:
                raise InvalidMessage(
                    f"header.{self.header.kind}.caption", "header media take no caption"
                )
        elif isinstance(self.header, Message):
            raise InvalidMessage("header", "must be text or an image, video or document")
        else:
            # Anything else is meant as a text header (`{"type": "text", "text": 5}` in JSON).
            optional_text("header.text", self.header, max_len=MAX_HEADER)
        text("body.text", self.body, max_len=MAX_BODY)
        optional_text("footer.text", self.footer, max_len=MAX_FOOTER)
        buttons = items("action.buttons", self.buttons, ReplyButton)
        object.__setattr__(self, "buttons", buttons)
        if not buttons:
            raise InvalidMessage(
                "action.buttons", "at least one button is mandatory", code=SYNC.MANDATORY_MISSING
            )
        if len(buttons) > MAX_BUTTONS:
            raise InvalidMessage(
                "action.buttons", f"has {len(buttons)} buttons; at most {MAX_BUTTONS} are allowed"
            )
        for i, button in enumerate(buttons):
            for name in ("id", "title"):
                if any(getattr(b, name) == getattr(button, name) for b in buttons[:i]):
                    raise InvalidMessage(
                        f"action.buttons[{i}].reply.{name}",
                        f"{getattr(button, name)!r} is used by another button; "
                        f"button {name}s must be unique",
                    )

    def content(self) -> dict[str, Any]:
        interactive: dict[str, Any] = {"type": "button"}
        if isinstance(self.header, str):
            interactive["header"] = {"type": "text", "text": self.header}
        elif self.header is not None:
            interactive["header"] = {
                "type": self.header.kind,
                self.header.kind: self.header.media_object(),
            }
        interactive["body"] = {"text": self.body}
        if self.footer is not None:
            interactive["footer"] = {"text": self.footer}
        interactive["action"] = {"buttons": [button.render() for button in self.buttons]}
        return {"type": "interactive", "interactive": interactive}

    @classmethod
    def from_json(cls, value: Any, media_keys: Mapping[str, str]) -> ReplyButtons:
        """Parse a Webex `reply` object, or a Cloud API `interactive` object without `type`.

        `media_keys` maps a header media object's JSON keys to fields (see `media.parse_media`).
        """
        data = obj(value, ("header", "body", "footer", "action"), required=("body", "action"))
        with at("action"):
            action = obj(data["action"], ("buttons",), required=("buttons",))
            with at("buttons"):
                buttons = each(action["buttons"], _button)
        header = None
        if "header" in data:
            with at("header"):
                header = _reply_header(data["header"], media_keys)
        return cls(
            header=header,
            body=_text_of("body", data["body"]),
            footer=_text_of("footer", data["footer"]) if "footer" in data else None,
            buttons=buttons,
        )


def _section(value: Any) -> Section:
    data = obj(value, ("title", "rows"), required=("rows",))
    with at("rows"):
        rows = each(data["rows"], _row)
    return Section(rows=rows, title=data.get("title"))


def _row(value: Any) -> Row:
    return Row(**obj(value, ("id", "title", "description"), required=("id", "title")))


def _button(value: Any) -> ReplyButton:
    data = obj(value, ("type", "reply"), required=("type", "reply"))
    if data["type"] != "reply":
        raise InvalidMessage("type", 'must be "reply"')
    with at("reply"):
        return ReplyButton(**obj(data["reply"], ("id", "title"), required=("id", "title")))


def _text_of(key: str, value: Any) -> Any:
    """The `text` of a `{"text": ...}` object (body, footer)."""
    with at(key):
        return obj(value, ("text",), required=("text",))["text"]


def _text_header(value: Any) -> Any:
    with at("header"):
        # The type first: a media header is a wrong type, not an unknown key.
        if isinstance(value, dict) and value.get("type") not in (None, "text"):
            raise InvalidMessage("type", 'list headers must be "text"')
        return obj(value, ("type", "text"), required=("type", "text"))["text"]


def _reply_header(value: Any, media_keys: Mapping[str, str]) -> Any:
    kinds = ("text", "image", "video", "document")
    data = obj(value, ("type", *kinds), required=("type",))
    kind = data["type"]
    if kind not in kinds:
        raise InvalidMessage("type", f"must be one of {', '.join(kinds)}")
    obj(value, ("type", kind), required=(kind,))
    if kind == "text":
        return data["text"]
    with at(kind):
        return parse_media(kind, data[kind], media_keys)
