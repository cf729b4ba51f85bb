"""Outbound WhatsApp message values: validated when built, rendered to Cloud API JSON. No I/O."""

from wanode.messages.contacts import (
    MAX_CONTACTS,
    Address,
    Contact,
    Contacts,
    Email,
    Name,
    Org,
    Phone,
    Url,
)
from wanode.messages.envelope import Envelope, Message
from wanode.messages.errors import InvalidMessage
from wanode.messages.interactive import ListMessage, ReplyButton, ReplyButtons, Row, Section
from wanode.messages.location import Location
from wanode.messages.media import (
    MEDIA_RULES,
    Audio,
    Document,
    Image,
    Media,
    MediaRule,
    Sticker,
    Video,
)
from wanode.messages.outbound import OutboundMessage, parse_native, parse_wa, render_payload
from wanode.messages.read_receipt import mark_read, typing_indicator
from wanode.messages.templates import (
    TemplateDefinition,
    TemplateMessage,
    bind_native,
    bind_webex,
    check_creation,
    hydrate,
    parse_create,
)
from wanode.messages.text import Text

__all__ = [
    "MAX_CONTACTS",
    "MEDIA_RULES",
    "Address",
    "Audio",
    "Contact",
    "Contacts",
    "Document",
    "Email",
    "Envelope",
    "Image",
    "InvalidMessage",
    "ListMessage",
    "Location",
    "Media",
    "MediaRule",
    "Message",
    "Name",
    "Org",
    "OutboundMessage",
    "Phone",
    "ReplyButton",
    "ReplyButtons",
    "Row",
    "Section",
    "Sticker",
    "TemplateDefinition",
    "TemplateMessage",
    "Text",
    "Url",
    "Video",
    "bind_native",
    "bind_webex",
    "check_creation",
    "hydrate",
    "mark_read",
    "parse_create",
    "parse_native",
    "parse_wa",
    "render_payload",
    "typing_indicator",
]
