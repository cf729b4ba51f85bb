"""The README's message examples are the API's examples, and each one is a valid message."""

from __future__ import annotations

import json
import re
from pathlib import Path

from wanode.api.examples import WA_EXAMPLES, native_body
from wanode.messages import parse_native, parse_wa

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"### {title}")
    end = text.index("\n### ", start + 1)
    return text[start:end]


def _json_blocks(text: str) -> list[object]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.S)]


def test_every_kind_is_shown_and_valid() -> None:
    shown = _json_blocks(_section("Every message kind"))
    assert shown == list(WA_EXAMPLES.values())
    for wa in shown:
        parse_wa(wa)


def test_native_example_is_valid() -> None:
    [body] = _json_blocks(_section("The native API: `POST /v1/messages`"))
    assert isinstance(body, dict)
    own = {"appid", "to", "correlationid", "callbackData", "notifyurl", "expiry"}
    parse_native({k: v for k, v in body.items() if k not in own})
    assert body["interactive"] == native_body(WA_EXAMPLES["list"])["interactive"]
