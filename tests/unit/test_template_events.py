"""`message_template_status_update` webhooks parse to `TemplateStatusUpdate` (cloud-api.md §3.4)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wanode.events import MalformedWebhook, TemplateStatusUpdate, parse_webhook

FIXTURE = (
    Path(__file__).parents[1] / "fixtures/webhooks/outside_openapi/template_status_update.json"
)


def body(**value: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text())
    loaded["entry"][0]["changes"][0]["value"].update(value)
    return loaded


def test_the_recorded_approval() -> None:
    [event] = parse_webhook(body())

    assert event == TemplateStatusUpdate(
        waba_id="102290129340398",
        template_id="1689556908129832",
        name="order_confirmation",
        language="en_US",
        event="APPROVED",
        category="UTILITY",
        reason=None,
        other_info=None,
        timestamp=datetime.fromtimestamp(1751247548, UTC),
        raw={},
    )
    assert event.raw["message_template_id"] == 1689556908129832


def test_a_rejection_keeps_its_reason() -> None:
    [event] = parse_webhook(
        body(
            event="REJECTED",
            reason="INCORRECT_CATEGORY",
            rejection_info={"reason": "INCORRECT_CATEGORY", "recommendation": "Edit it."},
        )
    )
    assert isinstance(event, TemplateStatusUpdate)
    assert (event.event, event.reason) == ("REJECTED", "INCORRECT_CATEGORY")


def test_a_pause_names_which_one_and_words_are_upper_cased() -> None:
    [event] = parse_webhook(
        body(event="paused", reason=None, other_info={"title": "SECOND_PAUSE", "description": "."})
    )
    assert isinstance(event, TemplateStatusUpdate)
    assert (event.event, event.reason, event.other_info) == ("PAUSED", None, "SECOND_PAUSE")


def test_an_id_as_a_string_and_no_time_are_accepted() -> None:
    loaded = body(message_template_id="1689556908129832", message_template_category=None)
    del loaded["entry"][0]["time"]
    [event] = parse_webhook(loaded)
    assert isinstance(event, TemplateStatusUpdate)
    assert (event.template_id, event.category, event.timestamp) == (
        "1689556908129832",
        None,
        None,
    )


def test_several_changes_in_one_post() -> None:
    loaded = body()
    second = copy.deepcopy(loaded["entry"][0]["changes"][0])
    second["value"].update(event="DISABLED", message_template_id=42)
    loaded["entry"][0]["changes"].append(second)
    events = parse_webhook(loaded)
    assert [(e.template_id, e.event) for e in events if isinstance(e, TemplateStatusUpdate)] == [
        ("1689556908129832", "APPROVED"),
        ("42", "DISABLED"),
    ]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda b: b["entry"][0].pop("id"), "entry[0].id"),
        (lambda b: b["entry"][0]["changes"][0]["value"].pop("event"), "value.event"),
        (
            lambda b: b["entry"][0]["changes"][0]["value"].update(message_template_id="x1"),
            "value.message_template_id",
        ),
        (
            lambda b: b["entry"][0]["changes"][0]["value"].update(message_template_id=True),
            "value.message_template_id",
        ),
        (
            lambda b: b["entry"][0]["changes"][0]["value"].pop("message_template_name"),
            "value.message_template_name",
        ),
    ],
)
def test_a_malformed_update_refuses_the_post(change: Any, path: str) -> None:
    loaded = body()
    change(loaded)
    with pytest.raises(MalformedWebhook, match=path.replace("[", r"\[").replace("]", r"\]")):
        parse_webhook(loaded)
