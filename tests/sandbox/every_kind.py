"""One scenario that makes the sandbox emit every kind of webhook it has, driven over HTTP the
way a test bench does: Graph sends, handset actions on the control panel, template status
changes. Used by the client-library tests (pywa parses each) and the webhook-shape tests (each
matches Meta's OpenAPI document or, where the document is silent or wrong, Meta's docs).

Kinds the sandbox never emits, so not here: `played` statuses, `system`, `unsupported`,
`order` and `referral` messages, and every webhook field but `messages` and
`message_template_status_update`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from tests.sandbox.bench import NUMBER, TEMPLATE_FIELD, USER
from tests.sandbox.live import Delivery, LiveSandbox

from wanode.sandbox import sign

# A handset that is not on WhatsApp: sends to it fail with 131026.
GHOST = "16505550000"
QUICK_REPLY_TEMPLATE = {
    "name": "visit_reminder",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "BODY", "text": "Your visit is tomorrow. Still coming?"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Yes"},
                {"type": "QUICK_REPLY", "text": "No"},
            ],
        },
    ],
}

# Every kind `kinds_of` names, which the scenario must make the sandbox emit.
EXPECTED_KINDS = {
    "message:text",
    "message:text+context",
    "message:image",
    "message:video",
    "message:audio",
    "message:audio+voice",
    "message:document",
    "message:sticker",
    "message:location",
    "message:location-without-name",
    "message:contacts",
    "message:interactive:button_reply",
    "message:interactive:list_reply",
    "message:interactive:list_reply-without-description",
    "message:button",
    "message:reaction",
    "message:reaction-removed",
    "message:+identity_key_hash",
    "status:sent",
    "status:delivered",
    "status:read",
    "status:failed:131026",
    "status:failed:131053",
    "status:failed:131009",
    "status:+recipient_identity_key_hash",
    "template:APPROVED",
    "template:REJECTED",
    "template:PAUSED",
    "template:APPROVED+UNPAUSE",
    "template:DISABLED",
}


@dataclass
class Driven:
    """What the scenario did: the business's wamids by what they were, and the template ids."""

    sent: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)


def graph_client(live: LiveSandbox) -> httpx.Client:
    return httpx.Client(
        base_url=live.url,
        headers={"Authorization": f"Bearer {NUMBER.access_token}"},
        timeout=10,
        trust_env=False,
    )


def drive(live: LiveSandbox) -> Driven:
    """Run the scenario against `live` and wait until every webhook it causes has arrived."""
    driven = Driven()
    phone = NUMBER.phone_number_id
    with graph_client(live) as http:

        def send(name: str, kind: str, body: Any, to: str = USER) -> str:
            payload = {"messaging_product": "whatsapp", "to": to, "type": kind, kind: body}
            response = http.post(f"/v23.0/{phone}/messages", json=payload)
            assert response.status_code == 200, response.text
            wamid: str = response.json()["messages"][0]["id"]
            driven.sent[name] = wamid
            return wamid

        def act(action: str, body: dict[str, Any]) -> None:
            response = http.post(f"/handsets/{USER}/{action}", json=body)
            assert response.status_code in (200, 201), (action, response.text)

        def template_status(template_id: str, status: str, reason: str | None = None) -> None:
            body = {"status": status, **({"reason": reason} if reason else {})}
            response = http.post(f"/templates/{template_id}/status", json=body)
            assert response.status_code == 200, response.text

        # The business's messages, each read by the handset: sent, delivered, read.
        text = send("text", "text", {"body": "Hello"})
        buttons = send(
            "buttons",
            "interactive",
            {
                "type": "button",
                "body": {"text": "Still coming?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                        {"type": "reply", "reply": {"id": "no", "title": "No"}},
                    ]
                },
            },
        )
        rows = [
            {"id": "r1", "title": "Tuesday", "description": "10 am"},
            {"id": "r2", "title": "Friday"},
        ]
        menu = send(
            "list",
            "interactive",
            {
                "type": "list",
                "body": {"text": "When?"},
                "action": {"button": "Days", "sections": [{"title": "Days", "rows": rows}]},
            },
        )
        created = http.post(f"/v23.0/{NUMBER.waba_id}/message_templates", json=QUICK_REPLY_TEMPLATE)
        assert created.status_code == 200, created.text
        driven.templates["approved"] = created.json()["id"]
        rejected = http.post(
            f"/v23.0/{NUMBER.waba_id}/message_templates",
            json={**QUICK_REPLY_TEMPLATE, "name": "reject_scam_offer"},
        )
        driven.templates["rejected"] = rejected.json()["id"]
        live.wait_for(
            lambda: _template_status(http, driven.templates["approved"]) == "APPROVED",
            what="the template's review",
        )
        template = send(
            "template",
            "template",
            {"name": "visit_reminder", "language": {"code": "en_US"}},
        )
        # Failures the platform learns after accepting a send: a number not on WhatsApp, a
        # media link that answers 404, a reaction to a message that is not in the chat.
        assert http.put(f"/handsets/{GHOST}", json={"exists": False}).status_code == 200
        send("ghost", "text", {"body": "anyone?"}, to=GHOST)
        send("missing_image", "image", {"link": f"{live.url}/samples/missing.jpg"})
        send("bad_reaction", "reaction", {"message_id": "wamid.unknown", "emoji": "👍"})
        _wait_for_statuses(live, [text, buttons, menu, template], "read")

        # What the handset sends.
        act("send", {"phone_number_id": phone, "text": "Hi there"})
        act("send", {"phone_number_id": phone, "text": "About this", "reply_to": text})
        for sample in ("photo.jpg", "clip.mp4", "invoice.pdf", "sticker.webp"):
            act("send-media", {"phone_number_id": phone, "sample": sample})
        act("send-media", {"phone_number_id": phone, "sample": "voice.ogg"})
        act("send-media", {"phone_number_id": phone, "sample": "voice.ogg", "voice": True})
        act(
            "send-location",
            {
                "phone_number_id": phone,
                "latitude": 52.52,
                "longitude": 13.405,
                "name": "Office",
                "address": "Unter den Linden 1",
            },
        )
        act("send-location", {"phone_number_id": phone, "latitude": 48.85, "longitude": 2.35})
        card = {
            "name": {"formatted_name": "Ann Lee", "first_name": "Ann"},
            "phones": [{"phone": "+1 650 555 0100", "type": "CELL", "wa_id": "16505550100"}],
        }
        act("send-contacts", {"phone_number_id": phone, "contacts": [card]})
        act("tap-button", {"message_id": buttons, "id": "yes"})
        act("pick-row", {"message_id": menu, "id": "r1"})
        act("pick-row", {"message_id": menu, "id": "r2"})
        act("tap-quick-reply", {"message_id": template, "index": 0})
        act("react", {"message_id": text, "emoji": "❤️"})
        act("react", {"message_id": text})

        # With the identity check on, inbound and status webhooks carry the identity hashes.
        settings = http.post(
            f"/v23.0/{phone}/settings",
            json={"user_identity_change": {"enable_identity_key_check": True}},
        )
        assert settings.json() == {"success": True}
        act("send", {"phone_number_id": phone, "text": "Checked"})
        checked = send("checked", "text", {"body": "Checked too"})
        _wait_for_statuses(live, [checked], "read")
        http.post(
            f"/v23.0/{phone}/settings",
            json={"user_identity_change": {"enable_identity_key_check": False}},
        )

        # The template's life after approval.
        approved = driven.templates["approved"]
        for status in ("PAUSED", "APPROVED", "DISABLED"):
            template_status(approved, status)
    live.wait_for(lambda: kinds_of(live.tap.deliveries) >= EXPECTED_KINDS, what="every kind")
    return driven


def bodies(deliveries: list[Delivery]) -> list[dict[str, Any]]:
    """The webhook bodies received, each checked to be signed with the number's app secret."""
    for delivery in deliveries:
        assert delivery.signature == sign(delivery.body, NUMBER.app_secret)
    return [json.loads(delivery.body) for delivery in deliveries]


def kinds_of(deliveries: list[Delivery]) -> set[str]:
    """The kinds (`EXPECTED_KINDS`' names) among the bodies received so far."""
    found: set[str] = set()
    for body in bodies(list(deliveries)):
        for entry in body["entry"]:
            for change in entry["changes"]:
                found |= kinds_of_value(change["field"], change["value"])
    return found


def kinds_of_value(field_name: str, value: dict[str, Any]) -> set[str]:
    if field_name == TEMPLATE_FIELD:
        unpaused = value.get("other_info", {}).get("title") == "UNPAUSE"
        return {f"template:{value['event']}{'+UNPAUSE' if unpaused else ''}"}
    found = set()
    for status in value.get("statuses", []):
        kind = f"status:{status['status']}"
        if status["status"] == "failed":
            kind += f":{status['errors'][0]['code']}"
        found.add(kind)
        if "recipient_identity_key_hash" in status:
            found.add("status:+recipient_identity_key_hash")
    for message in value.get("messages", []):
        kind = message["type"]
        body = message[kind]
        if kind == "interactive":
            kind += f":{body['type']}"
            if body["type"] == "list_reply" and "description" not in body["list_reply"]:
                kind += "-without-description"
        elif kind == "location" and "name" not in body:
            kind += "-without-name"
        elif kind == "reaction" and "emoji" not in body:
            kind += "-removed"
        elif kind == "audio" and body.get("voice"):
            kind += "+voice"
        elif kind == "text" and "context" in message:
            kind += "+context"
        found.add(f"message:{kind}")
    hashed = any("identity_key_hash" in contact for contact in value.get("contacts", []))
    if hashed and value.get("messages"):
        found.add("message:+identity_key_hash")
    return found


def _template_status(http: httpx.Client, template_id: str) -> str:
    status: str = http.get(f"/v23.0/{template_id}").json()["status"]
    return status


def _wait_for_statuses(live: LiveSandbox, wamids: list[str], status: str) -> None:
    def arrived() -> bool:
        seen = {
            s["id"]
            for body in bodies(list(live.tap.deliveries))
            for entry in body["entry"]
            for change in entry["changes"]
            for s in change["value"].get("statuses", [])
            if s["status"] == status
        }
        return set(wamids) <= seen

    live.wait_for(arrived, what=f"{status} statuses")
