"""What a simulated customer sends: each action becomes exactly the inbound webhook Meta sends
(cloud-api.md §4.4). The bench validates every body against Meta's OpenAPI document."""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

import pytest
from tests.sandbox.bench import AUTH, NUMBER, USER, Bench, payload_of, webhook_errors
from tests.sandbox.test_template_send import order_components, template_payload
from tests.sandbox.test_templates import definition

from wanode.events import parse_webhook
from wanode.sandbox import BusinessNumber
from wanode.sandbox.rules.bsuid import user_id
from wanode.sandbox.samples import sample

PHONE = NUMBER.phone_number_id
BUTTONS = {
    "type": "button",
    "body": {"text": "Shall we book?"},
    "action": {
        "buttons": [
            {"type": "reply", "reply": {"id": "yes-1", "title": "Yes"}},
            {"type": "reply", "reply": {"id": "no-1", "title": "No"}},
        ]
    },
}
LIST = {
    "type": "list",
    "body": {"text": "Pick a slot"},
    "action": {
        "button": "Slots",
        "sections": [
            {
                "title": "Morning",
                "rows": [{"id": "am-9", "title": "9:00", "description": "Early bird"}],
            },
            {"title": "Evening", "rows": [{"id": "pm-7", "title": "19:00"}]},
        ],
    },
}


async def sent_to_handset(bench: Bench, payload: dict[str, Any]) -> str:
    response = await bench.send(payload)
    assert response.status_code == 200, response.json()
    await bench.settle()
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def act(bench: Bench, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """Perform an action that must succeed; returns the `messages[]` item it produced."""
    response = await bench.act(action, body)
    assert response.status_code == 201, response.json()
    await bench.settle()
    message = bench.receiver.messages()[-1]
    assert message["id"] == response.json()["id"]
    assert message["from"] == USER
    assert message["timestamp"].isdigit()
    return message


def without_envelope(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in ("from", "id", "timestamp")}


async def test_a_sample_image_arrives_as_a_fetchable_media_id(bench: Bench) -> None:
    _, data = sample("photo.jpg") or ("", b"")

    message = await act(
        bench, "send-media", {"phone_number_id": PHONE, "sample": "photo.jpg", "caption": "Mine"}
    )

    image = message["image"]
    assert without_envelope(message) == {
        "type": "image",
        "image": {
            "id": image["id"],
            "mime_type": "image/jpeg",
            "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            "caption": "Mine",
        },
    }
    metadata = (await bench.client.get(f"/v23.0/{image['id']}", headers=AUTH)).json()
    assert metadata["mime_type"] == "image/jpeg"
    assert metadata["sha256"] == hashlib.sha256(data).hexdigest()
    download = await bench.client.get(metadata["url"], headers=AUTH)
    assert download.content == data
    [sent] = (await bench.client.get(f"/handsets/{USER}/sent")).json()
    assert (sent["type"], sent["text"]) == ("image", "[image] Mine")


@pytest.mark.parametrize(
    ("body", "kind", "expected"),
    [
        (
            {"sample": "voice.ogg", "voice": True},
            "audio",
            {"mime_type": "audio/ogg", "voice": True},
        ),
        (
            {"sample": "clip.mp4", "caption": "Look"},
            "video",
            {"mime_type": "video/mp4", "caption": "Look"},
        ),
        (
            {"sample": "invoice.pdf", "filename": "march.pdf"},
            "document",
            {"mime_type": "application/pdf", "filename": "march.pdf"},
        ),
        (
            {"data": base64.b64encode(b"%PDF-1.4 x").decode(), "mime_type": "application/pdf"},
            "document",
            {"mime_type": "application/pdf", "filename": "document.pdf"},
        ),
        ({"sample": "notes.txt"}, "document", {"mime_type": "text/plain", "filename": "notes.txt"}),
        ({"sample": "sticker.webp"}, "sticker", {"mime_type": "image/webp", "animated": False}),
        (
            {"data": base64.b64encode(b"\x89PNG....").decode(), "mime_type": "image/png"},
            "image",
            {"mime_type": "image/png"},
        ),
    ],
)
async def test_every_media_kind(
    bench: Bench, body: dict[str, Any], kind: str, expected: dict[str, Any]
) -> None:
    message = await act(bench, "send-media", {"phone_number_id": PHONE, **body})

    assert message["type"] == kind
    media = message[kind]
    assert {k: v for k, v in media.items() if k not in ("id", "sha256")} == expected
    assert media["id"].isdigit()


def animated_webp() -> bytes:
    head = b"RIFF" + struct.pack("<I", 22) + b"WEBPVP8X" + struct.pack("<I", 10)
    return head + bytes([0x02]) + bytes(9)


async def test_an_animated_sticker_says_so(bench: Bench) -> None:
    data = base64.b64encode(animated_webp()).decode()

    message = await act(
        bench, "send-media", {"phone_number_id": PHONE, "data": data, "mime_type": "image/webp"}
    )

    assert message["sticker"]["animated"] is True


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"sample": "photo.jpg", "data": "AA=="}, "not both"),
        ({}, "not both"),
        ({"sample": "cat.gif"}, "no sample"),
        ({"sample": "photo.jpg", "mime_type": "image/png"}, "own type"),
        ({"data": "%%%", "mime_type": "image/png"}, "base64"),
        ({"data": "AA=="}, "mime_type is required"),
        ({"data": "AA==", "mime_type": "image/gif"}, "not a type WhatsApp carries"),
        ({"sample": "photo.jpg", "kind": "sticker"}, "sent as image, not sticker"),
        ({"sample": "voice.ogg", "caption": "hi"}, "caption"),
        ({"sample": "photo.jpg", "voice": True}, "voice"),
        (
            {"data": base64.b64encode(bytes(101 * 1024)).decode(), "mime_type": "image/webp"},
            "File Too Large",
        ),
        ({"sample": "photo.jpg", "colour": "red"}, "unknown field 'colour'"),
    ],
)
async def test_bad_media_is_400(bench: Bench, body: dict[str, Any], words: str) -> None:
    response = await bench.act("send-media", {"phone_number_id": PHONE, **body})

    assert response.status_code == 400
    assert words in response.json()["error"]["message"]
    assert bench.receiver.messages() == []


async def test_a_location_arrives_with_numbers(bench: Bench) -> None:
    full = await act(
        bench,
        "send-location",
        {
            "phone_number_id": PHONE,
            "latitude": "37.4422",
            "longitude": -122.1616,
            "name": "Philz Coffee",
            "address": "101 Forest Ave",
            "url": "https://philzcoffee.com/",
        },
    )
    pin = await act(
        bench, "send-location", {"phone_number_id": PHONE, "latitude": 1, "longitude": 2}
    )

    assert without_envelope(full) == {
        "type": "location",
        "location": {
            "latitude": 37.4422,
            "longitude": -122.1616,
            "name": "Philz Coffee",
            "address": "101 Forest Ave",
            "url": "https://philzcoffee.com/",
        },
    }
    assert pin["location"] == {"latitude": 1.0, "longitude": 2.0}
    bad = await bench.act(
        "send-location", {"phone_number_id": PHONE, "latitude": 91, "longitude": 0}
    )
    assert bad.status_code == 400
    assert "latitude" in bad.json()["error"]["message"]


async def test_contact_cards_arrive_as_given(bench: Bench) -> None:
    cards = [
        {
            "name": {"formatted_name": "Lucía Gómez", "first_name": "Lucía"},
            "phones": [{"phone": "+1 (983) 555-2319", "type": "MOBILE", "wa_id": "19835552319"}],
            "emails": [{"email": "lucia@example.com", "type": "WORK"}],
            "org": {"company": "Google"},
        }
    ]

    message = await act(bench, "send-contacts", {"phone_number_id": PHONE, "contacts": cards})

    assert without_envelope(message) == {"type": "contacts", "contacts": cards}
    bad = await bench.act("send-contacts", {"phone_number_id": PHONE, "contacts": [{"name": {}}]})
    assert bad.status_code == 400
    assert "formatted_name" in bad.json()["error"]["message"]
    missing = await bench.act("send-contacts", {"phone_number_id": PHONE})
    assert missing.status_code == 400


async def test_a_message_the_handset_starts_can_quote_a_business_message(bench: Bench) -> None:
    wamid = await sent_to_handset(bench, payload_of("text", {"body": "Photo please"}))

    message = await act(
        bench, "send-media", {"phone_number_id": PHONE, "sample": "logo.png", "reply_to": wamid}
    )

    assert message["context"] == {"from": NUMBER.display_phone_number, "id": wamid}
    stray = await bench.act(
        "send-location", {"phone_number_id": PHONE, "latitude": 1, "longitude": 1, "reply_to": "x"}
    )
    assert stray.status_code == 400


async def test_reactions_to_either_side_and_their_removal(bench: Bench) -> None:
    business = await sent_to_handset(bench, payload_of("text", {"body": "Table is ready"}))
    own = (
        await bench.act("send-location", {"phone_number_id": PHONE, "latitude": 1, "longitude": 1})
    ).json()["id"]

    liked = await act(bench, "react", {"message_id": business, "emoji": "👍"})
    on_own = await act(bench, "react", {"message_id": own, "emoji": "📍"})
    removed = await act(bench, "react", {"message_id": business})

    assert without_envelope(liked) == {
        "type": "reaction",
        "reaction": {"message_id": business, "emoji": "👍"},
    }
    assert on_own["reaction"] == {"message_id": own, "emoji": "📍"}
    assert removed["reaction"] == {"message_id": business}
    unknown = await bench.act("react", {"message_id": "wamid.nope", "emoji": "👍"})
    assert unknown.status_code == 400


async def test_tapping_a_reply_button(bench: Bench) -> None:
    wamid = await sent_to_handset(bench, payload_of("interactive", BUTTONS))

    message = await act(bench, "tap-button", {"message_id": wamid, "id": "no-1"})

    assert without_envelope(message) == {
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "no-1", "title": "No"}},
        "context": {"from": NUMBER.display_phone_number, "id": wamid},
    }


async def test_picking_list_rows_with_and_without_a_description(bench: Bench) -> None:
    wamid = await sent_to_handset(bench, payload_of("interactive", LIST))

    morning = await act(bench, "pick-row", {"message_id": wamid, "id": "am-9"})
    evening = await act(bench, "pick-row", {"message_id": wamid, "id": "pm-7"})

    assert without_envelope(morning) == {
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": "am-9", "title": "9:00", "description": "Early bird"},
        },
        "context": {"from": NUMBER.display_phone_number, "id": wamid},
    }
    assert evening["interactive"]["list_reply"] == {"id": "pm-7", "title": "19:00"}


async def test_tapping_template_quick_replies(bench: Bench) -> None:
    await bench.approved(definition())
    wamid = await sent_to_handset(bench, template_payload(components=order_components()))

    with_payload = await act(bench, "tap-quick-reply", {"message_id": wamid, "index": 0})
    by_label = await act(bench, "tap-quick-reply", {"message_id": wamid, "text": "Cancel"})

    assert without_envelope(with_payload) == {
        "type": "button",
        "button": {"payload": "TRACK_42", "text": "Track"},
        "context": {"from": NUMBER.display_phone_number, "id": wamid},
    }
    # No payload was sent for this button: the label stands in (cloud-api.md §4.4).
    assert by_label["button"] == {"payload": "Cancel", "text": "Cancel"}


async def test_invalid_taps_are_400(bench: Bench) -> None:
    buttons = await sent_to_handset(bench, payload_of("interactive", BUTTONS))
    rows = await sent_to_handset(bench, payload_of("interactive", LIST))
    plain = await sent_to_handset(bench, payload_of("text", {"body": "hi"}))
    await bench.approved(definition())
    template = await sent_to_handset(bench, template_payload(components=order_components()))
    elsewhere = await sent_to_handset(
        bench, {**payload_of("interactive", BUTTONS), "to": "15550009999"}
    )
    cases = [
        ("tap-button", {"message_id": buttons, "id": "maybe"}, "no button 'maybe'"),
        ("tap-button", {"message_id": plain, "id": "yes-1"}, "no reply buttons (a text message)"),
        ("tap-button", {"message_id": rows, "id": "am-9"}, "an interactive list message"),
        ("tap-button", {"message_id": elsewhere, "id": "yes-1"}, "not in this handset's inbox"),
        ("tap-button", {"message_id": "wamid.x", "id": "yes-1"}, "not in this handset's inbox"),
        ("tap-button", {"message_id": buttons}, "id is required"),
        (
            "tap-button",
            {"message_id": buttons, "id": "yes-1", "phone_number_id": "2"},
            "not 2",
        ),
        ("pick-row", {"message_id": rows, "id": "noon"}, "no row 'noon'"),
        ("pick-row", {"message_id": buttons, "id": "yes-1"}, "not a list message"),
        ("tap-quick-reply", {"message_id": plain, "index": 0}, "not a template message"),
        ("tap-quick-reply", {"message_id": template, "index": 2}, "no such quick-reply"),
        (
            "tap-quick-reply",
            {"message_id": template, "text": "Track", "index": 0},
            "one of the two",
        ),
        ("tap-quick-reply", {"message_id": template}, "one of the two"),
        ("tap-quick-reply", {"message_id": template, "index": "0"}, "index"),
    ]
    for action, body, words in cases:
        response = await bench.act(action, body)
        assert response.status_code == 400, (action, body)
        assert words in response.json()["error"]["message"], (action, body, response.json())
    assert bench.receiver.messages() == []


async def test_a_message_that_failed_cannot_be_tapped(bench: Bench) -> None:
    wamid = await sent_to_handset(
        bench, {**payload_of("interactive", BUTTONS), "recipient_identity_key_hash": "old"}
    )

    response = await bench.act("tap-button", {"message_id": wamid, "id": "yes-1"})

    assert response.status_code == 400
    assert "not delivered" in response.json()["error"]["message"]


async def test_a_handset_that_cannot_send_is_409(bench: Bench) -> None:
    wamid = await sent_to_handset(bench, payload_of("interactive", BUTTONS))
    await bench.client.put(f"/handsets/{USER}", json={"online": False})

    offline = await bench.act("tap-button", {"message_id": wamid, "id": "yes-1"})
    await bench.client.put(f"/handsets/{USER}", json={"online": True, "exists": False})
    ghost = await bench.act("send-media", {"phone_number_id": PHONE, "sample": "photo.jpg"})
    unknown_number = await bench.act("send-media", {"phone_number_id": "1", "sample": "photo.jpg"})

    assert offline.status_code == ghost.status_code == 409
    assert unknown_number.status_code == 404
    assert (await bench.act("tap-button", ["x"])).status_code == 400  # type: ignore[arg-type]


async def test_a_new_identity_shows_in_inbound_and_status_webhooks(bench: Bench) -> None:
    await bench.identity_check()
    before = await act(
        bench, "send-location", {"phone_number_id": PHONE, "latitude": 1, "longitude": 1}
    )
    old_hash = bench.receiver.values()[-1]["contacts"][0]["identity_key_hash"]

    new_hash = (await bench.client.post(f"/handsets/{USER}/identity")).json()["identity_key_hash"]
    await act(bench, "react", {"message_id": before["id"], "emoji": "👍"})
    contact = bench.receiver.values()[-1]["contacts"][0]
    wamid = await sent_to_handset(bench, payload_of("text", {"body": "hi"}))

    assert new_hash != old_hash
    assert contact == {
        "profile": {"name": f"User {USER[-4:]}"},
        "wa_id": USER,
        "identity_key_hash": new_hash,
        "user_id": user_id(USER, NUMBER.waba_id),
    }
    assert {s["recipient_identity_key_hash"] for s in bench.receiver.statuses(wamid)} == {new_hash}


async def test_actions_reply_to_the_number_the_message_came_from(bench: Bench) -> None:
    other = BusinessNumber(
        phone_number_id="2",
        waba_id=NUMBER.waba_id,
        display_phone_number="15550000002",
        access_token="t2",
        app_secret=NUMBER.app_secret,
        webhook_url=NUMBER.webhook_url,
    )
    bench.sandbox.provision(other)
    response = await bench.client.post(
        "/v23.0/2/messages",
        json=payload_of("interactive", BUTTONS),
        headers={"Authorization": "Bearer t2"},
    )
    wamid = response.json()["messages"][0]["id"]
    await bench.settle()

    await act(bench, "tap-button", {"message_id": wamid, "id": "yes-1", "phone_number_id": "2"})

    value = bench.receiver.values()[-1]
    assert value["metadata"] == {"display_phone_number": "15550000002", "phone_number_id": "2"}
    assert value["messages"][0]["context"]["from"] == "15550000002"


async def test_wanode_reads_every_inbound_kind(bench: Bench) -> None:
    buttons = await sent_to_handset(bench, payload_of("interactive", BUTTONS))
    rows = await sent_to_handset(bench, payload_of("interactive", LIST))
    await bench.approved(definition())
    template = await sent_to_handset(bench, template_payload(components=order_components()))
    for action, body in [
        ("send-media", {"phone_number_id": PHONE, "sample": "voice.ogg", "voice": True}),
        ("send-location", {"phone_number_id": PHONE, "latitude": 1, "longitude": 1}),
        (
            "send-contacts",
            {"phone_number_id": PHONE, "contacts": [{"name": {"formatted_name": "Ana"}}]},
        ),
        ("react", {"message_id": buttons, "emoji": "👍"}),
        ("tap-button", {"message_id": buttons, "id": "yes-1"}),
        ("pick-row", {"message_id": rows, "id": "pm-7"}),
        ("tap-quick-reply", {"message_id": template, "index": 0}),
    ]:
        await act(bench, action, body)

    inbound = [
        b for b in bench.receiver.bodies if "messages" in b["entry"][0]["changes"][0]["value"]
    ]
    kinds = [str(event.kind) for body in inbound for event in parse_webhook(body)]
    assert kinds == [
        "audio",
        "location",
        "contacts",
        "reaction",
        "interactive",
        "interactive",
        "button",
    ]


def test_the_webhook_check_catches_a_wrong_inbound_message() -> None:
    """Guards the bench: the corrected document still rejects what Meta would not send."""
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": NUMBER.waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
                            "contacts": [{"profile": {"name": "A"}, "wa_id": USER}],
                            "messages": [
                                {
                                    "from": USER,
                                    "id": "wamid.x",
                                    "timestamp": "1",
                                    "type": "button",
                                    "button": {"payload": "x"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }

    assert webhook_errors(body) != []
