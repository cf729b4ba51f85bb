"""The static checks of a flow's send nodes (wanode.flows.static_checks): every problem of a
message, none from what a `$(...)` variable stands for."""

from __future__ import annotations

from typing import Any

from wanode.flows.static_checks import message_problems, send_problems, template_ids
from wanode.messages import parse_wa


def fields(wa: Any) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in message_problems(wa, parse_wa)]


def test_a_valid_message_has_no_problem() -> None:
    assert fields({"type": "text", "text": {"body": "Hello"}}) == []


def test_every_bad_value_is_reported_not_only_the_first() -> None:
    wa = {
        "type": "reply",
        "reply": {
            "body": {"text": "b" * 1025},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "a", "title": "t" * 21}},
                    {"type": "reply", "reply": {"id": "b", "title": "ok", "colour": "red"}},
                ]
            },
        },
    }
    assert sorted(fields(wa)) == [
        ("reply.action.buttons[0].reply.title", "7004"),
        ("reply.action.buttons[1].reply.colour", "7004"),
        ("reply.body.text", "7004"),
    ]


def test_a_problem_of_a_whole_list_ends_the_check_of_its_message() -> None:
    wa = {
        "type": "list",
        "list": {"body": {"text": "b"}, "action": {"button": "Pick", "sections": []}},
    }
    assert fields(wa) == [("list.action.sections", "7003")]


def test_variables_are_left_to_run_time() -> None:
    wa = {
        "type": "location",
        "location": {"latitude": "$(lat)", "longitude": "$(lng)", "name": "At $(place)"},
    }
    assert fields(wa) == []
    media = {"type": "video", "video": {"url": "$(link)", "caption": "$(caption)"}}
    assert fields(media) == []
    # A variable does not hide a static problem beside it.
    media["video"]["caption"] = "c" * 1025
    assert fields(media) == [("video.caption", "7004")]


def test_ids_standing_for_distinct_variables_do_not_clash() -> None:
    rows = [{"id": f"$(id{n})", "title": f"$(title{n})"} for n in range(3)]
    wa = {
        "type": "list",
        "list": {
            "body": {"text": "b"},
            "action": {"button": "Pick", "sections": [{"title": "S", "rows": rows}]},
        },
    }
    assert fields(wa) == []


def test_send_problems_name_the_node_and_the_field_under_the_node() -> None:
    doc = {
        "nodes": {
            "n1": {"type": "start"},
            "n2": {
                "type": "whatsapp",
                "destination": "+49 151 1234 0001",
                "wa": {"type": "text", "text": {"body": ""}},
            },
            "n3": {
                "type": "whatsapp",
                "destination_type": "customerid",
                "destination": "anything goes",
                "template": {"template": "$(which)"},
            },
            "n4": {"type": "whatsapp", "destination": "x", "template": {"template": 42}},
        }
    }
    assert template_ids(doc) == {"42"}
    problems = send_problems(doc, templates={}, app_id="a_1", require_e164=False)
    assert [(p.node, p.field, p.code) for p in problems] == [
        ("n2", "wa.text.body", "7003"),
        ("n4", "destination", "7004"),
        ("n4", "template.template", "7108"),
    ]
    assert problems[0].message.startswith("wa.text.body: ")
