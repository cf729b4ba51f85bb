"""Bad input gets a clear error with a stable code and the offending field; never a 500."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from tests.support.harness import Harness, running

from wanode.store import Database
from wanode.store.tables import messages, webhook_statuses

pytestmark = pytest.mark.asyncio


def body(app_id: str, **changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "appid": app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": ["4915112345678"]}],
        "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "hi"}}}},
    }
    request.update(changes)
    return {k: v for k, v in request.items() if v is not None}


async def post(wn: Harness, payload: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    if isinstance(payload, bytes):
        response = await wn.client.post(
            "/resources/v1/messaging",
            content=payload,
            headers={"content-type": "application/json", **kwargs.get("headers", {})},
        )
    else:
        response = await wn.client.post("/resources/v1/messaging", json=payload, **kwargs)
    return response.status_code, response.json()["response"]


async def count_messages(db: Database) -> int:
    async with db.begin() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar_one()
        )


async def test_validation_errors(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        cases: list[tuple[Any, str, str | None]] = [
            (b'{"appid": ', "7000", None),
            (b"[1, 2]", "7000", None),
            (body(wn.app_id, appid=None), "7003", "appid"),
            (body(wn.app_id, destination=None), "7003", "destination"),
            (body(wn.app_id, channels=None), "7003", "channels"),
            (body(wn.app_id, deliverychannel="sms"), "7004", "deliverychannel"),
            (body(wn.app_id, appid=12), "7004", "appid"),
            (body(wn.app_id, destination="4915112345678"), "7004", "destination"),
            (
                body(wn.app_id, destination=[{"waid": "4915112345678"}]),
                "7004",
                "destination[0].waid",
            ),
            (
                body(wn.app_id, destination=[{"waid": [4915112345678]}]),
                "7004",
                "destination[0].waid[0]",
            ),
            (body(wn.app_id, destination=[{"waid": ["12ab"]}]), "7004", "destination[0].waid[0]"),
            (
                body(wn.app_id, destination=[{"msisdn": ["4915112345678"]}]),
                "7003",
                "destination[0].waid",
            ),
            (body(wn.app_id, channels={"OTT-Messaging": {}}), "7003", "channels.OTT-Messaging.wa"),
            (
                body(
                    wn.app_id,
                    channels={"OTT-Messaging": {"wa": {"type": "text", "text": {"body": 5}}}},
                ),
                "7004",
                "channels.OTT-Messaging.wa.text.body",
            ),
            (
                body(wn.app_id, channels={"OTT-Messaging": {"wa": {"type": "text"}}}),
                "7003",
                "channels.OTT-Messaging.wa.text",
            ),
            (
                body(wn.app_id, channels={"OTT-Messaging": {"wa": {"type": "fax"}}}),
                "7004",
                "channels.OTT-Messaging.wa.type",
            ),
            (
                body(
                    wn.app_id,
                    channels={
                        "OTT-Messaging": {"wa": {"type": "text", "text": {"body": "x" * 4097}}}
                    },
                ),
                "7004",
                "channels.OTT-Messaging.wa.text.body",
            ),
            (body(wn.app_id, correlationid=7), "7004", "correlationid"),
            (body(wn.app_id, notifyurl="not a url"), "7004", "notifyurl"),
            (body(wn.app_id, expiry="tomorrow"), "7004", "expiry"),
            (body("a_000000000000000000"), "7104", "appid"),
        ]
        for payload, code, field in cases:
            status, response = await post(wn, payload)
            assert (status, response["code"]) == (400, code), (payload, response)
            assert response.get("field") == field, (payload, response)
            assert response["description"]
        assert await count_messages(db) == 0


async def test_body_at_the_limit_is_accepted(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        status, response = await post(
            wn,
            body(
                wn.app_id,
                channels={"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "é" * 4096}}}},
            ),
        )
        assert status == 200 and response[0]["code"] == "1001"


async def test_notify_url_leading_space_has_the_spec_text(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        status, response = await post(wn, body(wn.app_id, notifyurl=" https://example.org/dr"))
        assert status == 400 and response["code"] == "7004"
        assert "Invalid URL, field accepts only valid URL or variable" in response["description"]


async def test_destination_limit(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        many = [f"4915100{i:06d}" for i in range(1001)]
        status, response = await post(wn, body(wn.app_id, destination=[{"waid": many}]))
        assert (status, response["code"]) == (400, "7009")
        spread = [{"waid": [n]} for n in many[:1000]]
        status, response = await post(wn, body(wn.app_id, destination=spread))
        assert status == 200 and len(response) == 1000
        assert await count_messages(db) == 1000


async def test_keys(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        status, response = await post(wn, body(wn.app_id), headers={"key": ""})
        assert (status, response["code"]) == (401, "7002")
        status, response = await post(wn, body(wn.app_id), headers={"key": "wk_wrong"})
        assert (status, response["code"]) == (401, "7001")
        lookup = await wn.client.get("/v1/messages/nope", headers={"key": "wk_wrong"})
        assert lookup.status_code == 401 and lookup.json()["error"]["code"] == "7001"
        missing = await wn.client.get("/v1/messages/does-not-exist")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "7600"


async def test_oversized_request_is_refused(db: Database) -> None:
    async with running(db, start_engine=False, max_request_bytes=10_000) as wn:
        status, response = await post(wn, orjson.dumps(body(wn.app_id, callbackData="x" * 20_000)))
        assert status == 413 and response["code"] == "7004"


async def test_apps_api_validates_and_hides_secrets(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        bad = await wn.client.post("/v1/apps", json={"phone_number_id": "x1", "waba_id": "1"})
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] in ("7003", "7004")
        listed = (await wn.client.get("/v1/apps")).json()["apps"]
        assert listed and all("app_secret" not in a and "access_token" not in a for a in listed)
        dup = await wn.client.post(
            "/v1/apps",
            json={
                "phone_number_id": wn.app["phone_number_id"],
                "waba_id": "1",
                "access_token": "t",
                "app_secret": "s",
            },
        )
        assert dup.status_code == 409 and dup.json()["error"]["field"] == "phone_number_id"
        gone = await wn.client.delete("/v1/apps/a_404")
        assert gone.status_code == 404


def signed(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def status_webhook(app: dict[str, Any], wamid: str = "wamid.X") -> bytes:
    return orjson.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": app["waba_id"],
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": app["display_phone_number"],
                                    "phone_number_id": app["phone_number_id"],
                                },
                                "statuses": [
                                    {
                                        "id": wamid,
                                        "status": "delivered",
                                        "timestamp": "1750000000",
                                        "recipient_id": "4915112345678",
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    )


async def test_webhook_signature_is_required(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        raw = status_webhook(wn.app)
        for header in (
            None,
            "sha256=00",
            signed(raw, "wrong-secret"),
            signed(raw + b" ", wn.app["app_secret"]),
        ):
            headers = {"content-type": "application/json"}
            if header:
                headers["x-hub-signature-256"] = header
            response = await wn.client.post("/webhooks/whatsapp", content=raw, headers=headers)
            assert response.status_code == 401
        async with db.begin() as conn:
            stored = (
                await conn.execute(sa.select(sa.func.count()).select_from(webhook_statuses))
            ).scalar_one()
        assert stored == 0

        good = {
            "content-type": "application/json",
            "x-hub-signature-256": signed(raw, wn.app["app_secret"]),
        }
        assert (
            await wn.client.post("/webhooks/whatsapp", content=raw, headers=good)
        ).status_code == 200
        # The same webhook again (WhatsApp retries) is stored once.
        assert (
            await wn.client.post("/webhooks/whatsapp", content=raw, headers=good)
        ).status_code == 200
        async with db.begin() as conn:
            stored = (
                await conn.execute(sa.select(sa.func.count()).select_from(webhook_statuses))
            ).scalar_one()
        assert stored == 1

        junk = b'{"object": "whatsapp_business_account", "entry": 5}'
        response = await wn.client.post(
            "/webhooks/whatsapp",
            content=junk,
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": signed(junk, wn.app["app_secret"]),
            },
        )
        assert response.status_code == 400


async def test_webhook_verification_handshake(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        ok = await wn.client.get(
            "/webhooks/whatsapp",
            params={
                "hub.mode": "subscribe",
                "hub.challenge": "1158201444",
                "hub.verify_token": wn.app["verify_token"],
            },
        )
        assert ok.status_code == 200 and ok.text == "1158201444"
        bad = await wn.client.get(
            "/webhooks/whatsapp",
            params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "nope"},
        )
        assert bad.status_code == 403


async def test_notify_url_trailing_space_is_trimmed_and_variables_need_a_flow(
    db: Database,
) -> None:
    async with running(db, start_engine=False) as wn:
        status, response = await post(wn, body(wn.app_id, notifyurl="http://127.0.0.1:9/dr   "))
        assert status == 200
        message = await wn.message(response[0]["transid"])
        assert message["notifyurl"] == "http://127.0.0.1:9/dr"
        status, response = await post(wn, body(wn.app_id, notifyurl="$(notifyUrl)"))
        assert (status, response["code"], response["field"]) == (400, "7004", "notifyurl")
        assert "resolved by flows" in response["description"]
