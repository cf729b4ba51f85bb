"""The README's template examples: the create body passes Meta's rules, and both sends bind to
the template it creates."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from wanode.messages import bind_native, bind_webex, hydrate, parse_create
from wanode.messages.templates import TemplateStatus, parameter_names

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks() -> list[dict[str, Any]]:
    text = README.read_text()
    start = text.index("### Templates")
    section = text[start : text.index("\n### ", start + 1)]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", section, re.S)]


def test_the_examples_create_and_send_one_template() -> None:
    create, webex, native = _blocks()
    definition = parse_create({k: v for k, v in create.items() if k != "appid"})
    approved = dataclasses.replace(
        definition, id=webex["message"]["template"], status=TemplateStatus.APPROVED
    )
    assert list(webex["message"]["parameters"]) == list(parameter_names(approved))

    by_id = bind_webex(approved, webex["message"]["parameters"])
    by_name = bind_native(approved, native["template"])

    assert hydrate(approved, by_id) == hydrate(approved, by_name)
    assert hydrate(approved, by_id) == "Hi Ana, your order ships on Monday."
    assert create["appid"] == webex["appid"] == native["appid"]
