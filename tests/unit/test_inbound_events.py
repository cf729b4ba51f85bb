"""The subscriber event of every inbound kind (webex-connect.md §4), built from recorded webhooks.

The fixtures are the ones tests/unit/test_events_openapi.py validates against Meta's OpenAPI
document; the few variants below are one documented change to such a fixture (cloud-api.md §4.4).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wanode.events import InboundMessage, parse_webhook
from wanode.notify.events import EVENT_NAMES, inbound_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
APP_ID = "a_100000000000000001"
SENDER = {
    "userId": "16505551234",
    "username": "Sheena Nelson",
    "channel": "WhatsApp",
    "appId": APP_ID,
    "waid": "16505551234",
    "bsuid": "",
    "identityKeyHash": "",
}
UNKNOWN_TYPE_ERROR = {
    "code": 131051,
    "title": "Message type unknown",
    "message": "Message type unknown",
    "details": "Message type is currently not supported.",
}


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def message_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["entry"][0]["changes"][0]["value"]["messages"][0]


def event(name: str, change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    body = load(name)
    if change is not None:
        change(message_of(body))
    [message] = parse_webhook(body)
    assert isinstance(message, InboundMessage)
    return inbound_event(message, app_id=APP_ID)


def common(name: str, **overrides: str) -> dict[str, Any]:
    """The fields every event of the fixture `name` has."""
    message = message_of(load(name))
    return {
        **SENDER,
        "ts": datetime.fromtimestamp(int(message["timestamp"]), UTC).isoformat(
            timespec="milliseconds"
        ),
        "tid": message["id"],
        **overrides,
    }


def decoded(body: dict[str, Any], field: str) -> Any:
    """A field the reference sends as a JSON-encoded string, decoded."""
    value = body[field]
    assert isinstance(value, str), f"{field} must be a JSON-encoded string"
    return json.loads(value)


# -- MO --------------------------------------------------------------------------------------


def test_text() -> None:
    assert event("text") == {
        "event": "MO",
        **common("text"),
        "type": "text",
        "message": "Does it come in another color?",
    }
    assert event("text")["ts"] == "2025-06-08T20:59:43.000+00:00"


def test_the_senders_business_scoped_user_id_is_the_bsuid_field() -> None:
    body = load("text")
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"] = "US.13491208655302741918"
    [message] = parse_webhook(body)
    assert isinstance(message, InboundMessage)
    assert message.bsuid == "US.13491208655302741918"
    forwarded = inbound_event(message, app_id=APP_ID)
    assert forwarded["bsuid"] == "US.13491208655302741918"
    assert forwarded["waid"] == "16505551234"


def test_quoted_reply_has_context_and_identity_hash() -> None:
    body = event("text_quoted_reply")
    assert body["contextId"] == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
    assert body["identityKeyHash"] == "DF2lS5v2W6x="


def test_a_text_from_a_product_page_names_the_product_message() -> None:
    body = event("text_referred_product")
    assert body["contextId"] == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA"


def test_image_attachment_points_at_wanode() -> None:
    body = event("image")
    assert body == {
        "event": "MO",
        **common("image"),
        "type": "image",
        "message": "Taj Mahal",
        "attachments": body["attachments"],
    }
    assert decoded(body, "attachments") == [
        {
            "mime_type": "image/jpeg",
            "url": "/v1/media/1003383421387256",
            "id": "1003383421387256",
            "caption": "Taj Mahal",
            "sha256": "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
        }
    ]


def test_voice_note_keeps_voice_and_drops_metas_download_url() -> None:
    body = event("audio_voice")
    assert (body["type"], body["message"]) == ("audio", "")
    assert decoded(body, "attachments") == [
        {
            "mime_type": "audio/ogg; codecs=opus",
            "url": "/v1/media/1236712391025874",
            "id": "1236712391025874",
            "sha256": "7rZkN+3Vd0mXU0Qy9l0ZKq0yq3xv3bM0yJQ1T1mHq4E=",
            "voice": True,
        }
    ]


def test_video_and_document() -> None:
    video = event("video")
    assert (video["type"], video["message"]) == ("video", "Unboxing")
    [clip] = decoded(video, "attachments")
    assert clip["url"] == "/v1/media/961215332612148"
    document = event("document")
    [file] = decoded(document, "attachments")
    assert (document["type"], file["filename"], file["caption"], file["mime_type"]) == (
        "document",
        "receipt.pdf",
        "Invoice for May",
        "application/pdf",
    )


def test_sticker_adds_a_sticker_object() -> None:
    body = event("sticker")
    assert body["type"] == "sticker"
    assert decoded(body, "attachments") == [
        {
            "mime_type": "image/webp",
            "url": "/v1/media/2198379103894551",
            "id": "2198379103894551",
            "sha256": "Xq3b1cS7y8W4pQ0zN2lR5kT9vJ6hF3dG1aC8eB0mL2E=",
        }
    ]
    assert body["sticker"] == {
        "id": "2198379103894551",
        "mime_type": "image/webp",
        "sha256": "Xq3b1cS7y8W4pQ0zN2lR5kT9vJ6hF3dG1aC8eB0mL2E=",
        "animated": False,
    }


def test_location_is_a_json_string() -> None:
    body = event("location")
    assert (body["type"], body["message"]) == ("location", "")
    assert decoded(body, "location") == {
        "address": "101 Forest Ave, Palo Alto, CA 94301",
        "latitude": 37.44221496582,
        "longitude": -122.16165924072,
        "name": "Philz Coffee",
        "url": "https://philzcoffee.com/",
    }
    assert "attachments" not in body


def test_a_bare_pin_has_empty_names() -> None:
    def pin(message: dict[str, Any]) -> None:
        message["location"] = {"latitude": 1.5, "longitude": -2.25}

    assert decoded(event("location", pin), "location") == {
        "address": "",
        "latitude": 1.5,
        "longitude": -2.25,
        "name": "",
        "url": "",
    }


def test_contacts_are_metas_cards_as_a_json_string() -> None:
    body = event("contacts")
    assert body["type"] == "contacts"
    assert decoded(body, "contacts") == message_of(load("contacts"))["contacts"]
    # Kept readable: the string is UTF-8, not \\u escapes.
    assert "Lucía" in body["contacts"]


def test_reaction_is_an_mo_about_the_reacted_message() -> None:
    reacted = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA"
    assert event("reaction") == {
        "event": "MO",
        **common("reaction"),
        "type": "reaction",
        "message": "👍",
        "reaction": {"message_id": reacted, "emoji": "👍"},
        "contextId": reacted,
    }


def test_a_removed_reaction_has_no_emoji() -> None:
    def remove(message: dict[str, Any]) -> None:
        del message["reaction"]["emoji"]

    body = event("reaction", remove)
    assert (body["message"], body["reaction"]["emoji"]) == ("", "")


def test_order() -> None:
    body = event("order")
    assert (body["event"], body["type"], body["message"]) == ("MO", "order", "")
    assert body["order"] == {
        "catalog_id": "194836987003835",
        "text": "",
        "product_items": [
            {
                "product_retailer_id": "di9ozbzfi4",
                "quantity": 2,
                "item_price": 30.0,
                "currency": "USD",
            },
            {
                "product_retailer_id": "nqryix03ez",
                "quantity": 1,
                "item_price": 25.0,
                "currency": "USD",
            },
        ],
    }


def test_system_number_change_has_no_username() -> None:
    body = event("system")
    text = "User Sheena Nelson changed from 16505551234 to 12195555358"
    assert body == {
        "event": "MO",
        **common("system", username=""),
        "type": "system",
        "message": text,
        "system": {"type": "user_changed_number", "body": text, "wa_id": "12195555358"},
    }


@pytest.mark.parametrize("name", ["unsupported", "unknown"])
def test_unsupported_and_unknown_keep_raw_and_errors(name: str) -> None:
    body = event(name)
    assert (body["event"], body["type"], body["message"]) == ("MO", name, "")
    assert body["raw"] == message_of(load(name))
    assert body["errors"] == [UNKNOWN_TYPE_ERROR]


def test_a_type_nobody_knows_yet_is_unknown_with_its_real_type_in_raw() -> None:
    def poll(message: dict[str, Any]) -> None:
        del message["text"]
        message["type"] = "poll_vote"
        message["poll_vote"] = {"option": 2}

    body = event("text", poll)
    assert (body["type"], body["raw"]["type"], body["raw"]["poll_vote"]) == (
        "unknown",
        "poll_vote",
        {"option": 2},
    )


def test_an_interactive_reply_of_a_new_type_is_an_mo_with_raw() -> None:
    def flow(message: dict[str, Any]) -> None:
        message["interactive"] = {"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}

    body = event("interactive_button_reply", flow)
    assert (body["event"], body["type"]) == ("MO", "interactive")
    assert body["raw"]["interactive"]["type"] == "nfm_reply"
    assert body["contextId"] == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"


# -- postback, list, reply -------------------------------------------------------------------


def test_template_quick_reply_is_a_postback() -> None:
    assert event("button") == {
        "event": "postback",
        **common("button"),
        "buttonPayload": "Unsubscribe",
        "buttonText": "Unsubscribe",
        "contextId": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA",
    }


def test_list_row() -> None:
    assert event("interactive_list_reply") == {
        "event": "list",
        "type": "list",
        **common("interactive_list_reply"),
        "listRowIdentifier": "priority_express",
        "listRowTitle": "Priority Mail Express",
        "listRowDescription": "Next Day to 2 Days",
        "contextId": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGMzEyNzhENTZDMzNGODlDRDgA",
    }


def test_list_row_without_description() -> None:
    def plain(message: dict[str, Any]) -> None:
        del message["interactive"]["list_reply"]["description"]

    assert event("interactive_list_reply", plain)["listRowDescription"] == ""


def test_reply_button() -> None:
    assert event("interactive_button_reply") == {
        "event": "reply",
        "type": "reply",
        **common("interactive_button_reply"),
        "replyButtonIdentifier": "cancel-button",
        "replyButtonTitle": "Cancel",
        "contextId": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA",
    }


# -- every fixture -----------------------------------------------------------------------------

INBOUND = [
    path.stem
    for path in sorted(FIXTURES.glob("*.json"))
    if any(isinstance(e, InboundMessage) for e in parse_webhook(json.loads(path.read_text())))
]


def test_every_inbound_kind_has_a_fixture() -> None:
    kinds = {message_of(load(name))["type"] for name in INBOUND}
    assert kinds >= {
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "button",
        "reaction",
        "order",
        "system",
        "unsupported",
        "unknown",
    }


@pytest.mark.parametrize("name", INBOUND)
def test_every_event_is_flat_json_with_the_common_fields(name: str) -> None:
    body = event(name)
    assert body["event"] in EVENT_NAMES
    assert next(iter(body)) == "event", "the event name comes first, for people reading logs"
    assert body.keys() >= common(name).keys()
    assert all(isinstance(body[field], str) for field in common(name))
    assert json.loads(json.dumps(body)) == body
    assert event(name) == body, "the same message always makes the same event"


def test_the_event_is_detached_from_the_message() -> None:
    [message] = parse_webhook(load("unknown"))
    assert isinstance(message, InboundMessage)
    body = inbound_event(message, app_id=APP_ID)
    body["raw"]["errors"].clear()
    assert message.raw["errors"], "changing the event must not change the parsed message"
