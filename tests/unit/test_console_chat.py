"""The simulator's drawing of a conversation and the templates page's preview: pure functions
over the sandbox's inbox JSON and a template's Graph components."""

from __future__ import annotations

from typing import Any

from wanode.console.chat import conversation
from wanode.console.template_preview import create_body, examples, render, variables
from wanode.messages import parse_create


def _inbox(wamid: str, at: str, kind: str, payload: dict[str, Any], **extra: Any) -> dict:
    return {
        "id": wamid,
        "phone_number_id": extra.pop("phone_number_id", "111"),
        "type": kind,
        "text": "",
        "payload": {"type": kind, kind: payload},
        "status": extra.pop("status", "delivered"),
        "timestamp": at,
        **extra,
    }


def _sent(wamid: str, at: str, kind: str, text: str, read: bool = False, **extra: Any) -> dict:
    return {
        "id": wamid,
        "phone_number_id": "111",
        "type": kind,
        "text": text,
        "timestamp": at,
        "read": read,
        "reply_to": extra.get("reply_to"),
        "media_id": extra.get("media_id"),
    }


def test_a_conversation_is_merged_in_time_order_with_reactions_and_quotes() -> None:
    inbox = [
        _inbox("out.1", "2026-01-01T10:00:01+00:00", "text", {"body": "<b>Hi</b>"}),
        _inbox(
            "out.2",
            "2026-01-01T10:00:03+00:00",
            "reaction",
            {"message_id": "in.1", "emoji": "👍"},
        ),
        _inbox("other", "2026-01-01T10:00:04+00:00", "text", {"body": "x"}, phone_number_id="9"),
        _inbox(
            "out.3",
            "2026-01-01T10:00:05+00:00",
            "text",
            {"body": "late"},
            status="failed",
            error={"code": 131047, "details": "window closed"},
        ),
    ]
    sent = [
        _sent("in.1", "2026-01-01T10:00:00+00:00", "text", "Hello", read=True),
        _sent("in.2", "2026-01-01T10:00:02+00:00", "text", "Thanks", reply_to="out.1"),
        _sent("in.3", "2026-01-01T10:00:06+00:00", "reaction", "[reaction] ❤️ to out.1"),
        _sent("in.4", "2026-01-01T10:00:07+00:00", "reaction", "[reaction] (removed) to out.1"),
    ]
    bubbles = conversation(inbox, sent, {"111"})
    assert [(b.id, b.mine, b.status) for b in bubbles] == [
        ("in.1", True, "read"),
        ("out.1", False, "delivered"),
        ("in.2", True, "delivered"),
        ("out.3", False, "failed"),
    ]
    assert bubbles[0].reactions == ["👍"]
    assert bubbles[1].text == "<b>Hi</b>"
    assert bubbles[1].reactions == []  # the heart was taken back
    assert bubbles[2].quoted == "<b>Hi</b>"
    assert bubbles[3].error == "(131047) window closed"
    before = bubbles[1].fingerprint()
    inbox[0]["status"] = "read"
    again = conversation(inbox, sent, {"111"})
    assert again[1].fingerprint() != before
    assert again[1].dom_id == bubbles[1].dom_id


def test_media_the_handset_sent_is_drawn_by_its_id_with_the_words_of_its_summary() -> None:
    sent = [
        _sent("p", "2026-01-01T10:00:00+00:00", "image", "[image] the parcel", media_id="m1"),
        _sent("q", "2026-01-01T10:00:01+00:00", "image", "[image] m2", media_id="m2"),
        _sent("d", "2026-01-01T10:00:02+00:00", "document", "[document] bill.pdf", media_id="m3"),
        _sent("v", "2026-01-01T10:00:03+00:00", "audio", "[voice note] m4", media_id="m4"),
    ]
    picture, bare, document, voice = conversation([], sent)
    assert picture.media == {
        "kind": "image",
        "has_id": True,
        "link": None,
        "filename": "the parcel",
    }
    assert picture.text == "the parcel"
    assert (bare.text, bare.media and bare.media["filename"]) == ("", None)
    assert (document.text, document.media and document.media["filename"]) == ("", "bill.pdf")
    assert voice.media is not None and voice.media["has_id"] and voice.text == ""


def test_interactive_lists_buttons_and_template_quick_replies_become_choices() -> None:
    list_message = {
        "type": "list",
        "body": {"text": "Pick"},
        "action": {
            "button": "Slots",
            "sections": [{"title": "Today", "rows": [{"id": "am", "title": "Morning"}]}],
        },
    }
    buttons = {
        "type": "button",
        "body": {"text": "Sure?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
    }
    template = {
        "name": "t",
        "header": "H",
        "body": "B",
        "footer": "F",
        "buttons": [
            {"index": 0, "type": "QUICK_REPLY", "text": "Stop"},
            {"index": 1, "type": "URL", "text": "Open", "url": "https://example.com/x"},
        ],
    }
    inbox = [
        _inbox("a", "2026-01-01T10:00:00+00:00", "interactive", list_message),
        _inbox("b", "2026-01-01T10:00:01+00:00", "interactive", buttons),
        {**_inbox("c", "2026-01-01T10:00:02+00:00", "template", {}), "template": template},
        _inbox("d", "2026-01-01T10:00:03+00:00", "image", {"link": "javascript:alert(1)"}),
    ]
    a, b, c, d = conversation(inbox, [])
    assert a.list_menu is not None and a.list_menu["button"] == "Slots"
    assert a.list_menu["sections"][0]["rows"][0]["id"] == "am"
    assert b.buttons == [{"id": "y", "title": "Yes"}]
    assert (c.header, c.text, c.footer) == ("H", "B", "F")
    assert c.quick_replies == [{"index": 0, "text": "Stop"}]
    assert c.link_buttons == ["Open (https://example.com/x)"]
    assert d.media is not None and d.media["link"] is None


def test_the_preview_fills_examples_then_given_values() -> None:
    components = [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{1}}",
            "example": {"header_text": ["#1"]},
        },
        {
            "type": "BODY",
            "text": "Hi {{1}}, it costs {{2}} and {{3}}",
            "example": {"body_text": [["Ana", "5 €"]]},
        },
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "OK"}]},
    ]
    assert variables(components) == ["header.1", "1", "2", "3"]
    assert examples(components) == {"header.1": "#1", "1": "Ana", "2": "5 €"}
    preview = render(components, {"1": "Rui", "2": ""})
    assert preview.header == "Order #1"
    assert preview.body == "Hi Rui, it costs 5 € and [3]"
    assert preview.buttons == [{"type": "QUICK_REPLY", "text": "OK", "detail": ""}]


def test_the_form_builds_a_create_body_meta_accepts() -> None:
    positional = create_body(
        {
            "name": "order_ready",
            "language": "en_US",
            "category": "UTILITY",
            "header": "Order {{1}}",
            "header_sample": "#9",
            "body": "Hi {{1}}, order {{2}}",
            "samples": "Ana\n#9\n",
            "footer": "Bye",
            "quick_replies": "Track\nStop",
        }
    )
    definition = parse_create(positional)
    assert definition.name == "order_ready"
    assert positional["components"][1]["example"] == {"body_text": [["Ana", "#9"]]}
    named = create_body(
        {
            "name": "named_one",
            "language": "en_US",
            "category": "UTILITY",
            "body": "Hi {{first_name}}",
            "samples": "Ana",
        }
    )
    assert named["parameter_format"] == "NAMED"
    parse_create(named)
    assert render(named["components"]).body == "Hi Ana"
