"""The native send API (`POST /v1/messages`), the OpenAPI examples of both send endpoints,
replies in context, inbound listing and read receipts with a typing indicator."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.support.harness import Harness, running, wait_until

from wanode.api.examples import EXAMPLE_APP, EXAMPLE_TO, WA_EXAMPLES
from wanode.store import Database

pytestmark = pytest.mark.asyncio

ENDPOINTS = {"/v1/messages": 202, "/resources/v1/messaging": 200}


def _examples(document: dict[str, Any], path: str) -> dict[str, Any]:
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return {name: example["value"] for name, example in body["examples"].items()}


def _transid(path: str, response: Any) -> str:
    body = response.json()
    return str(body["transid"] if path == "/v1/messages" else body["response"][0]["transid"])


async def _inbox(wn: Harness, wa_id: str = EXAMPLE_TO) -> list[dict[str, Any]]:
    return list((await wn.client.get(f"/sandbox/handsets/{wa_id}/messages")).json())


async def test_every_openapi_example_is_sent_and_read(db: Database) -> None:
    """The examples in the OpenAPI document are real requests: each kind reaches the handset."""
    async with running(db) as wn:
        document = (await wn.client.get("/openapi.json")).json()
        sent: list[str] = []
        for path, status in ENDPOINTS.items():
            examples = _examples(document, path)
            assert sorted(examples) == sorted(WA_EXAMPLES)
            for kind, example in examples.items():
                body = copy.deepcopy(example)
                assert body["appid"] == EXAMPLE_APP
                body["appid"] = wn.app_id
                body.pop("notifyurl", None)
                response = await wn.client.post(path, json=body)
                assert response.status_code == status, (path, kind, response.text)
                sent.append(_transid(path, response))
        for transid in sent:
            await wn.wait_status(transid, "read")
        inbox = await _inbox(wn)
        assert len(inbox) == 2 * len(WA_EXAMPLES)
        native = {m["type"] for m in inbox[: len(WA_EXAMPLES)]}
        assert native == {*WA_EXAMPLES} - {"list", "reply"} | {"interactive"}


async def test_native_answer_and_record(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        response = await wn.client.post(
            "/v1/messages",
            json={
                "appid": wn.app_id,
                "to": "+49 151 1234-5678",
                "type": "location",
                "location": {"latitude": "52.5", "longitude": 13.4, "name": "Mitte"},
                "correlationid": "c-1",
                "callbackData": "cb",
                "biz_opaque_callback_data": "opaque",
            },
        )
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer == {
            "transid": answer["transid"],
            "status": "queued",
            "waid": "4915112345678",
            "correlationid": "c-1",
        }
        assert response.headers["location"] == f"/v1/messages/{answer['transid']}"
        message = await wn.message(answer["transid"])
        assert message["status"] == "queued"
        assert message["callbackData"] == "cb"
        assert message["destination"] == "+49 151 1234-5678"
        assert message["payload"]["biz_opaque_callback_data"] == "opaque"
        assert float(message["payload"]["location"]["latitude"]) == 52.5


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"to": None}, "7003", "to"),
        ({"to": "12"}, "7004", "to"),
        ({"appid": None}, "7003", "appid"),
        ({"appid": "a_unknown"}, "7104", "appid"),
        ({"type": None}, "7003", "type"),
        ({"type": "carousel"}, "7004", "type"),
        (
            {"sticker": {"link": "https://example.org/s.webp", "caption": "x"}},
            "7004",
            "sticker.caption",
        ),
        ({"sticker": {"link": "https://example.org/s.png"}}, "7004", "sticker.link"),
        ({"colour": "blue"}, "7004", "colour"),
        ({"notifyurl": " http://127.0.0.1:9/dr"}, "7004", "notifyurl"),
        ({"expiry": "tomorrow"}, "7004", "expiry"),
    ],
)
async def test_native_errors_name_the_field(
    db: Database, change: dict[str, Any], code: str, field: str
) -> None:
    async with running(db, start_engine=False) as wn:
        body: dict[str, Any] = {
            "appid": wn.app_id,
            "to": EXAMPLE_TO,
            "type": "sticker",
            "sticker": {"link": "https://example.org/s.webp"},
        }
        body.update(change)
        body = {k: v for k, v in body.items() if v is not None}
        response = await wn.client.post("/v1/messages", json=body)
        assert response.status_code in (400, 404), response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == (code, field), error


async def test_native_list_limit_path(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        wa = copy.deepcopy(WA_EXAMPLES["list"])
        wa["list"]["action"]["sections"][1]["rows"][0]["description"] = "d" * 73
        response = await wn.client.post(
            "/v1/messages",
            json={
                "appid": wn.app_id,
                "to": EXAMPLE_TO,
                "type": "interactive",
                "interactive": {"type": "list", **wa["list"]},
            },
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["field"] == "interactive.action.sections[1].rows[0].description"
        assert "72" in error["message"]


async def _inbound(wn: Harness, text: str, reply_to: str | None = None) -> str:
    body: dict[str, Any] = {"phone_number_id": wn.app["phone_number_id"], "text": text}
    if reply_to:
        body["reply_to"] = reply_to
    response = await wn.client.post(f"/sandbox/handsets/{EXAMPLE_TO}/send", json=body)
    assert response.status_code == 201, response.text
    wamid = str(response.json()["id"])

    async def listed() -> list[str]:
        found = (await wn.client.get("/v1/inbound", params={"waid": EXAMPLE_TO})).json()
        return [m["wamid"] for m in found["messages"]]

    await wait_until(listed, lambda ids: wamid in ids, timeout=5, what="inbound stored")
    return wamid


async def test_reply_in_context_and_read_receipt_with_typing(db: Database) -> None:
    async with running(db) as wn:
        question = await _inbound(wn, "Is there a table for two?")
        listed = (await wn.client.get("/v1/inbound", params={"waid": EXAMPLE_TO})).json()
        assert listed["messages"][0]["message"]["text"]["body"] == "Is there a table for two?"

        read = await wn.client.post(f"/v1/inbound/{question}/read", json={"typing_indicator": True})
        assert read.status_code == 200, read.text
        assert read.json() == {"success": True, "wamid": question, "typing_indicator": True}
        handset_sent = (await wn.client.get(f"/sandbox/handsets/{EXAMPLE_TO}/sent")).json()
        assert [m["read"] for m in handset_sent] == [True]

        response = await wn.client.post(
            "/v1/messages",
            json={
                "appid": wn.app_id,
                "to": EXAMPLE_TO,
                "type": "text",
                "text": {"body": "Yes, at 8 pm"},
                "context": {"message_id": question},
            },
        )
        assert response.status_code == 202, response.text
        await wn.wait_status(response.json()["transid"], "read")
        [entry] = await _inbox(wn)
        assert entry["context"] == {"message_id": question}
        assert entry["payload"]["context"] == {"message_id": question}


async def test_read_receipt_errors(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        unknown = await wn.client.post("/v1/inbound/wamid.nope/read")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "7600"
        wamid = await _inbound(wn, "hi")
        bad = await wn.client.post(f"/v1/inbound/{wamid}/read", json={"typing_indicator": "yes"})
        assert bad.status_code == 400
        assert bad.json()["error"]["field"] == "typing_indicator"
        extra = await wn.client.post(f"/v1/inbound/{wamid}/read", json={"typing": True})
        assert extra.json()["error"]["field"] == "typing"


async def test_upload_then_send_by_id(db: Database) -> None:
    from wanode.sandbox.samples import sample

    found = sample("sticker.webp")
    assert found is not None
    mime_type, data = found
    async with running(db) as wn:
        uploaded = await wn.client.post(
            "/v1/media",
            data={"appid": wn.app_id},
            files={"file": ("sticker.webp", data, mime_type)},
        )
        assert uploaded.status_code == 201, uploaded.text
        media = uploaded.json()
        assert media["size"] == len(data) and media["mime_type"] == "image/webp"
        response = await wn.client.post(
            "/v1/messages",
            json={
                "appid": wn.app_id,
                "to": EXAMPLE_TO,
                "type": "sticker",
                "sticker": {"id": media["id"]},
            },
        )
        await wn.wait_status(response.json()["transid"], "read")
        [entry] = await _inbox(wn)
        assert entry["payload"]["sticker"] == {"id": media["id"]}

        refused = await wn.client.post(
            "/v1/media",
            data={"appid": wn.app_id},
            files={"file": ("a.gif", b"GIF89a" + bytes(20), "image/gif")},
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["field"] == "file"
        assert "(100)" in refused.json()["error"]["message"]
        missing = await wn.client.post("/v1/media", data={"appid": wn.app_id})
        assert missing.json()["error"]["field"] == "file"
        unknown = await wn.client.post(
            "/v1/media", data={"appid": "a_nope"}, files={"file": ("a.webp", data, mime_type)}
        )
        assert unknown.json()["error"]["code"] == "7104"
