"""Templates end to end against the in-process sandbox: created through wanode, reviewed, approved
by the status webhook, sent in both request shapes, paused after being queued, OTP buttons, a
quick reply tapped on the handset."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import receiver

from wanode.store import Database
from wanode.store import messages as outbox

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"
REVIEW_DELAY = 0.05

ORDER: dict[str, Any] = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{1}}",
            "example": {"header_text": ["#1234"]},
        },
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order ships on {{2}}.",
            "example": {"body_text": [["Ana", "Monday"]]},
        },
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Track"},
                {"type": "QUICK_REPLY", "text": "Cancel"},
            ],
        },
    ],
}
ORDER_PARAMETERS: dict[str, Any] = {
    "headerText": "#42",
    "1": "Ana",
    "2": "Monday",
    "quickReply": [{"payload": "TRACK_42"}, {"payload": "CANCEL_42"}],
}
AUTHENTICATION: dict[str, Any] = {
    "name": "login_code",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy"}]},
    ],
}


def fast_review(wn: Harness, delay: float = REVIEW_DELAY) -> None:
    wn.sandbox.config = replace(wn.sandbox.config, template_review_delay=delay)


async def create(wn: Harness, definition: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {"appid": wn.app_id, **copy.deepcopy(definition), **changes}
    response = await wn.client.post("/v1/templates", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def template(wn: Harness, template_id: str) -> dict[str, Any]:
    response = await wn.client.get(f"/v1/templates/{template_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def wait_template(wn: Harness, template_id: str, status: str) -> dict[str, Any]:
    return await wait_until(
        lambda: template(wn, template_id),
        lambda t: t["status"] == status and t["synced_at"] is not None,
        timeout=10,
        what=f"template {template_id} to become {status}",
    )


async def approved(wn: Harness, definition: dict[str, Any], **changes: Any) -> str:
    template_id = str((await create(wn, definition, **changes))["id"])
    await wait_template(wn, template_id, "APPROVED")
    return template_id


def webex(wn: Harness, template_id: str, parameters: Any, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"template": template_id}
    if parameters is not None:
        message["parameters"] = parameters
    return {
        "appid": wn.app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": [HANDSET]}],
        "message": message,
        **extra,
    }


async def send_webex(wn: Harness, template_id: str, parameters: Any, **extra: Any) -> Any:
    return await wn.client.post(
        "/resources/v1/messaging", json=webex(wn, template_id, parameters, **extra)
    )


async def inbox(wn: Harness, wa_id: str = HANDSET) -> list[dict[str, Any]]:
    return list((await wn.client.get(f"/sandbox/handsets/{wa_id}/messages")).json())


async def test_created_pending_then_approved_by_the_webhook_then_sent(db: Database) -> None:
    async with running(db) as wn:
        fast_review(wn, 0.3)
        created = await create(wn, ORDER)
        assert created["status"] == "PENDING"
        assert created["appid"] == wn.app_id
        assert created["id"].isdigit()
        assert created["parameters"] == ["headerText", "1", "2", "quickReply"]

        early = await send_webex(wn, created["id"], ORDER_PARAMETERS)
        assert early.status_code == 400
        refusal = early.json()["response"]
        assert (refusal["code"], refusal["field"]) == ("7849", "message.template")
        assert "PENDING" in refusal["description"]

        shown = await wait_template(wn, created["id"], "APPROVED")
        assert shown["components"][1]["text"] == "Hi {{1}}, your order ships on {{2}}."
        response = await send_webex(wn, created["id"], ORDER_PARAMETERS)
        assert response.status_code == 200, response.text
        [item] = response.json()["response"]
        assert item["code"] == "1001"
        await wn.wait_status(item["transid"], "read")
        async with db.begin() as conn:
            row = await outbox.get(conn, item["transid"])
        assert row is not None
        assert (row["kind"], row["template_id"], row["template_category"]) == (
            "template",
            created["id"],
            "UTILITY",
        )
        [entry] = await inbox(wn)
        assert entry["type"] == "template"
        assert entry["text"].startswith("Order #42\nHi Ana, your order ships on Monday.")


async def test_the_native_shape_finds_the_template_by_name_and_language(db: Database) -> None:
    async with running(db) as wn:
        fast_review(wn)
        await approved(wn, ORDER)
        components = [
            {"type": "header", "parameters": [{"type": "text", "text": "#7"}]},
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Bo"}, {"type": "text", "text": "Friday"}],
            },
            *(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": str(index),
                    "parameters": [{"type": "payload", "payload": payload}],
                }
                for index, payload in enumerate(("T7", "C7"))
            ),
        ]
        response = await wn.client.post(
            "/v1/messages",
            json={
                "appid": wn.app_id,
                "to": HANDSET,
                "type": "template",
                "template": {
                    "name": "order_update",
                    "language": {"code": "en_US"},
                    "components": components,
                },
                "biz_opaque_callback_data": "campaign-7",
            },
        )
        assert response.status_code == 202, response.text
        await wn.wait_status(response.json()["transid"], "read")
        [entry] = await inbox(wn)
        assert entry["text"].startswith("Order #7\nHi Bo, your order ships on Friday.")
        assert [b.get("payload") for b in entry["template"]["buttons"]] == ["T7", "C7"]


async def test_a_rejected_template_is_refused_with_metas_reason(db: Database) -> None:
    async with running(db) as wn:
        fast_review(wn)
        created = await create(wn, ORDER, name="reject_scam_offer")
        rejected = await wait_template(wn, created["id"], "REJECTED")
        assert rejected["rejected_reason"] == "SCAM"

        response = await send_webex(wn, created["id"], ORDER_PARAMETERS)

        refusal = response.json()["response"]
        assert (refusal["code"], refusal["field"]) == ("7849", "message.template")
        assert "REJECTED" in refusal["description"] and "SCAM" in refusal["description"]
        assert await inbox(wn) == []


async def test_a_template_paused_after_it_was_queued_fails_with_7869(db: Database) -> None:
    async with receiver() as dr, running(db, start_engine=False) as wn:
        fast_review(wn)
        template_id = await approved(wn, ORDER)
        response = await send_webex(wn, template_id, ORDER_PARAMETERS, notifyurl=f"{dr.url}/dr")
        assert response.status_code == 200, response.text
        transid = response.json()["response"][0]["transid"]

        paused = await wn.client.post(
            f"/sandbox/templates/{template_id}/status", json={"status": "PAUSED"}
        )
        assert paused.status_code == 200, paused.text
        await wait_template(wn, template_id, "PAUSED")
        await wn.ctx.engine.run_until_idle()

        message = await wn.message(transid)
        assert message["status"] == "failed"
        assert message["error"]["code"] == 132015
        [report] = [r.json()["deliveryInfoNotification"] for r in await dr.wait_for(1)]
        info = report["deliveryInfo"]
        assert (info["deliveryStatus"], info["code"]) == ("Failed", "7869")
        assert report["transid"] == transid
        assert await inbox(wn) == []

        again = await send_webex(wn, template_id, ORDER_PARAMETERS)
        refusal = again.json()["response"]
        assert (again.status_code, refusal["code"], refusal["field"]) == (
            400,
            "7869",
            "message.template",
        )


async def test_a_disabled_template_is_refused_with_7868(db: Database) -> None:
    async with running(db) as wn:
        fast_review(wn)
        template_id = await approved(wn, ORDER)
        await wn.client.post(
            f"/sandbox/templates/{template_id}/status", json={"status": "DISABLED"}
        )
        await wait_template(wn, template_id, "DISABLED")

        response = await send_webex(wn, template_id, ORDER_PARAMETERS)

        assert response.json()["response"]["code"] == "7868"


async def test_otp_templates_carry_copy_code_and_one_tap_buttons(db: Database) -> None:
    one_tap = copy.deepcopy(AUTHENTICATION)
    one_tap["name"] = "login_tap"
    one_tap["components"][2]["buttons"][0].update(
        otp_type="ONE_TAP",
        text="Copy",
        autofill_text="Autofill",
        supported_apps=[{"package_name": "com.example.app", "signature_hash": "K8a/AINcGX7"}],
    )
    async with running(db) as wn:
        fast_review(wn)
        copy_id = await approved(wn, AUTHENTICATION)
        tap_id = await approved(wn, one_tap)
        assert (await template(wn, copy_id))["parameters"] == ["otp"]

        sent = []
        for template_id, code in ((copy_id, "123456"), (tap_id, "987654")):
            response = await send_webex(wn, template_id, {"otp": {"type": "otp", "value": code}})
            assert response.status_code == 200, response.text
            sent.append(response.json()["response"][0]["transid"])
        for transid in sent:
            await wn.wait_status(transid, "read")

        # The two sends go out concurrently: the handset's inbox may hold them in either order.
        received = {m["template"]["name"]: m for m in await inbox(wn)}
        first, second = received["login_code"], received["login_tap"]
        assert first["template"]["category"] == "AUTHENTICATION"
        assert first["text"].startswith("*123456* is your verification code.")
        assert first["template"]["buttons"] == [
            {"index": 0, "type": "OTP", "otp_type": "COPY_CODE", "text": "Copy", "code": "123456"}
        ]
        [button] = second["template"]["buttons"]
        assert (button["otp_type"], button["text"], button["code"]) == (
            "ONE_TAP",
            "Autofill",
            "987654",
        )


async def test_a_tapped_quick_reply_comes_back_as_a_button_message(db: Database) -> None:
    async with receiver() as events, running(db) as wn:
        fast_review(wn)
        subscribed = await wn.client.post(
            "/v1/subscriptions", json={"url": f"{events.url}/events", "appid": wn.app_id}
        )
        assert subscribed.status_code == 201, subscribed.text
        template_id = await approved(wn, ORDER)
        response = await send_webex(wn, template_id, ORDER_PARAMETERS)
        transid = response.json()["response"][0]["transid"]
        wamid = (await wn.wait_status(transid, "read"))["wamid"]

        tapped = await wn.client.post(
            f"/sandbox/handsets/{HANDSET}/tap-quick-reply", json={"message_id": wamid, "index": 0}
        )
        assert tapped.status_code in (200, 201), tapped.text

        listed = await wait_until(
            lambda: wn.client.get("/v1/inbound", params={"waid": HANDSET}),
            lambda r: bool(r.json()["messages"]),
            timeout=10,
            what="the tap to be stored",
        )
        [stored] = listed.json()["messages"]
        assert stored["type"] == "button"
        assert stored["message"]["button"] == {"payload": "TRACK_42", "text": "Track"}
        assert stored["message"]["context"]["id"] == wamid
        [event] = [r.json() for r in await events.wait_for(1)]
        assert event["event"] == "postback"
        assert (event["buttonPayload"], event["buttonText"]) == ("TRACK_42", "Track")
        assert event["contextId"] == wamid
