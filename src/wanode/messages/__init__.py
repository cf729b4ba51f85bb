"""Outbound WhatsApp message values: validated when built, rendered to Cloud API JSON. No I/O."""

from wanode.messages.errors import InvalidMessage
from wanode.messages.outbound import OutboundMessage, parse_wa, render_payload
from wanode.messages.text import Text

__all__ = ["InvalidMessage", "OutboundMessage", "Text", "parse_wa", "render_payload"]
