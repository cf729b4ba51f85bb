"""wa.me links (cloud-api.md §10).

- A click-to-chat link is `https://wa.me/<number>?text=<URL-encoded text>`, the number in
  full international form, digits only. The text is encoded as JavaScript's
  `encodeURIComponent` does (``'`` and ``!*()`` stay as they are), the form the spec's own
  example has: `https://wa.me/15551234567?text=I'm%20interested%20in%20your%20car%20for%20sale`.
- A short link WhatsApp made (`/message_qrdls`) is `https://wa.me/message/<code>`.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

MAX_PREFILLED: Final = 140
IMAGE_FORMATS: Final = ("PNG", "SVG")
_WA_ME: Final = "https://wa.me/"
_UNRESERVED: Final = "!'()*"


def click_to_chat(phone_number: str, text: str | None = None) -> str:
    """The link that opens a chat with `phone_number`, its box filled with `text`."""
    digits = "".join(ch for ch in phone_number if ch.isdigit())
    if not digits:
        raise ValueError(f"{phone_number!r} has no digits")
    link = _WA_ME + digits
    return f"{link}?text={quote(text, safe=_UNRESERVED)}" if text else link


def deep_link(code: str) -> str:
    """The short link of a code WhatsApp made."""
    return f"{_WA_ME}message/{code}"
