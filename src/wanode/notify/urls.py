"""Notify URL rules of the WhatsApp node (spec/whatsapp-node.txt, "Notify URL")."""

from __future__ import annotations

import re

import httpx

_MESSAGE = "Invalid URL, field accepts only valid URL or variable"
# A whole-value flow variable, e.g. `$(notifyUrl)` or `$(n2.callback)`, resolved by flows later.
_VARIABLE = re.compile(r"\$\([^()\s]+\)")


class InvalidNotifyUrl(ValueError):
    """`message` is the spec's user-facing text, shown as-is."""

    def __init__(self) -> None:
        super().__init__(_MESSAGE)
        self.message = _MESSAGE


def validate_notify_url(value: str) -> str:
    """The URL to store: trailing spaces trimmed, a variable reference returned unchanged.

    A leading space is an error while a trailing one is trimmed: the spec is explicit about
    both. There is no maximum length (spec rule 5).
    """
    if not value or value[0].isspace():
        raise InvalidNotifyUrl
    value = value.rstrip()
    if _VARIABLE.fullmatch(value):
        return value
    # httpx would percent-encode inner whitespace into something "valid"; the spec's proper
    # URL format has none.
    if any(char.isspace() for char in value):
        raise InvalidNotifyUrl
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise InvalidNotifyUrl from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidNotifyUrl
    return value
