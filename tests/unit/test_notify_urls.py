"""Notify URL rules (spec/whatsapp-node.txt, "Notify URL")."""

from __future__ import annotations

import pytest

from wanode.notify import InvalidNotifyUrl, validate_notify_url

MESSAGE = "Invalid URL, field accepts only valid URL or variable"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("https://example.com/dr", "https://example.com/dr"),
        ("http://127.0.0.1:8080/hook?x=1&y=2", "http://127.0.0.1:8080/hook?x=1&y=2"),
        ("https://example.com/dr   ", "https://example.com/dr"),  # rule 4: trailing space trimmed
        ("$(notifyUrl)", "$(notifyUrl)"),  # rule 6: variables
        ("$(n2.callback_url)", "$(n2.callback_url)"),
        ("https://example.com/dr?t=$(transid)", "https://example.com/dr?t=$(transid)"),
        ("https://example.com/" + "a" * 10_000, "https://example.com/" + "a" * 10_000),  # rule 5
    ],
)
def test_accepted(value: str, stored: str) -> None:
    assert validate_notify_url(value) == stored


@pytest.mark.parametrize(
    "value",
    [
        " https://example.com/dr",  # rule 3: leading space
        "\thttps://example.com/dr",
        "",
        "   ",
        "example.com/dr",
        "not a url",
        "ftp://example.com/dr",
        "mailto:ops@example.com",
        "https://",
        "https:///path-only",
        "https://exa mple.com/dr",
        "http://[::1/dr",
        "$(unclosed",
        "$(a b)",
    ],
)
def test_rejected_with_the_spec_message(value: str) -> None:
    with pytest.raises(InvalidNotifyUrl) as raised:
        validate_notify_url(value)
    assert raised.value.message == MESSAGE
    assert str(raised.value) == MESSAGE
    assert isinstance(raised.value, ValueError)
