"""The console's pure parts: where sign-in may send a browser, the chart's geometry, how an API
error's field maps to a form field, and a payload as the customer sees it."""

from __future__ import annotations

from wanode.console.compose import _field_of
from wanode.console.messages import customer_view
from wanode.console.overview import MINUTES, chart
from wanode.console.session import safe_next


def test_sign_in_sends_a_browser_back_to_a_console_page_only() -> None:
    assert safe_next("/console/messages?status=read") == "/console/messages?status=read"
    assert safe_next("/console") == "/console"
    for elsewhere in (
        None,
        "",
        "//evil.example/console",
        "https://evil.example/console",
        "/consolex",
        "/console\\@evil.example",
        "/console/\r\nSet-Cookie: x=1",
        "/v1/keys",
    ):
        assert safe_next(elsewhere) == "/console"


def test_the_chart_has_a_point_a_minute_scaled_to_the_busiest_minute() -> None:
    drawn = chart({"sent": {100: 4, 159: 2}, "read": {130: 1}}, first_minute=100)
    assert drawn["top"] == 4
    lines = {line.status: line for line in drawn["lines"]}
    assert list(lines) == ["sent", "delivered", "read", "failed"]
    sent = [tuple(map(float, p.split(","))) for p in lines["sent"].points.split()]
    assert len(sent) == MINUTES
    assert sent[0][1] == drawn["ceiling"]  # the busiest minute touches the top
    assert sent[1][1] == drawn["base"]  # an empty minute lies on the axis
    assert sent[0][0] < sent[1][0] < sent[-1][0]
    assert (lines["sent"].total, lines["read"].total, lines["failed"].total) == (6, 1, 0)


def test_an_api_error_field_names_the_form_field_beside_which_it_shows() -> None:
    assert _field_of("to", "text") == "to"
    assert _field_of("destination[0].waid", "template") == "to"
    assert _field_of("text.body", "text") == "body"
    assert _field_of("image.link", "image") == "link"
    assert _field_of("location.latitude", "location") == "latitude"
    assert _field_of("location.name", "location") == "loc_name"
    assert _field_of("message.parameters.2", "template") == "p.2"
    assert _field_of("message.template", "template") == "template"
    assert _field_of("interactive.action.buttons[0].reply.title", "json") == "json"
    assert _field_of("notifyurl", "text") == "notifyurl"
    assert _field_of(None, "text") is None


def test_a_list_message_shows_its_body_rows_and_button() -> None:
    view = customer_view(
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "header": {"type": "text", "text": "Menu"},
                "body": {"text": "Pick a dish"},
                "action": {
                    "button": "Dishes",
                    "sections": [{"title": "Mains", "rows": [{"id": "1", "title": "Risotto"}]}],
                },
            },
        }
    )
    assert view["display"] == "Menu\nPick a dish\nRisotto"
    assert view["buttons"] == ["Dishes"]
    assert customer_view({"type": "text", "text": {"body": "<b>hi</b>"}})["display"] == "<b>hi</b>"
