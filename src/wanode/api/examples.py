"""One example of every message kind, shown in the OpenAPI document of both send endpoints.

The Webex `wa` objects are written by hand; the native bodies are rendered from them, so the
two shapes always say the same thing. A test posts every example to the running API.
"""

from __future__ import annotations

from typing import Any

from wanode.messages import parse_wa, render_payload

EXAMPLE_APP = "a_123456789012345678"
EXAMPLE_TO = "4915112345678"
_MEDIA = "http://127.0.0.1:8080/sandbox/samples"

WA_EXAMPLES: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": {"body": "Your table is ready", "preview_url": False}},
    "image": {
        "type": "image",
        "image": {"url": f"{_MEDIA}/photo.jpg", "caption": "Your table, by the window"},
    },
    "audio": {"type": "audio", "audio": {"url": f"{_MEDIA}/voice.ogg", "voice": True}},
    "video": {"type": "video", "video": {"url": f"{_MEDIA}/clip.mp4", "caption": "How to find us"}},
    "document": {
        "type": "document",
        "document": {
            "url": f"{_MEDIA}/invoice.pdf",
            "filename": "invoice-42.pdf",
            "caption": "Invoice 42",
        },
    },
    "sticker": {"type": "sticker", "sticker": {"url": f"{_MEDIA}/sticker.webp"}},
    "location": {
        "type": "location",
        "location": {
            "latitude": 52.520008,
            "longitude": 13.404954,
            "name": "Bistro Mitte",
            "address": "Alexanderplatz 1, 10178 Berlin",
        },
    },
    "contacts": {
        "type": "contacts",
        "contacts": [
            {
                "name": {"formatted_name": "Ana Lima", "first_name": "Ana", "last_name": "Lima"},
                "phones": [{"phone": "+49 151 1234567", "type": "CELL", "wa_id": "491511234567"}],
                "emails": [{"email": "ana@example.org", "type": "WORK"}],
                "org": {"company": "Bistro Mitte", "title": "Host"},
                "birthday": "1990-04-12",
            }
        ],
    },
    "list": {
        "type": "list",
        "list": {
            "header": {"type": "text", "text": "Tonight's menu"},
            "body": {"text": "Pick a dish and we will keep it for you."},
            "footer": {"text": "Kitchen open until 22:00"},
            "action": {
                "button": "See the dishes",
                "sections": [
                    {
                        "title": "Mains",
                        "rows": [
                            {"id": "main-1", "title": "Risotto", "description": "Mushrooms"},
                            {"id": "main-2", "title": "Schnitzel"},
                        ],
                    },
                    {"title": "Desserts", "rows": [{"id": "dessert-1", "title": "Tiramisu"}]},
                ],
            },
        },
    },
    "reply": {
        "type": "reply",
        "reply": {
            "header": {"type": "text", "text": "Booking 42"},
            "body": {"text": "Confirm your table for 8 pm?"},
            "footer": {"text": "Reply by 6 pm"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes-42", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no-42", "title": "No"}},
                ]
            },
        },
    },
}


def native_body(wa: dict[str, Any]) -> dict[str, Any]:
    """The `POST /v1/messages` body that sends what the `wa` object sends."""
    payload = render_payload(parse_wa(wa), EXAMPLE_TO)
    del payload["messaging_product"], payload["recipient_type"]
    return {"appid": EXAMPLE_APP, **payload}


def messaging_body(wa: dict[str, Any]) -> dict[str, Any]:
    """The `POST /resources/v1/messaging` body that sends the `wa` object."""
    return {
        "appid": EXAMPLE_APP,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": [EXAMPLE_TO], "correlationid": "order-42"}],
        "channels": {"OTT-Messaging": {"wa": wa}},
        "callbackData": "table=7",
        "notifyurl": "http://127.0.0.1:9000/dr",
    }


def openapi_body(examples: dict[str, dict[str, Any]], description: str) -> dict[str, Any]:
    """An `openapi_extra` request body: a free JSON object with one named example per kind."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": {
                        kind: {"summary": kind, "value": value} for kind, value in examples.items()
                    },
                }
            },
        }
    }
