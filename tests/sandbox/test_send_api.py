"""`POST /{version}/{phone-number-id}/messages`: answers and errors shaped exactly like Meta's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.sandbox.bench import NUMBER, USER, Bench, assert_meta_error, text_payload
from tests.support.openapi import errors


async def test_a_text_is_accepted_with_metas_success_shape(bench: Bench) -> None:
    payload = text_payload("hello")
    assert errors(payload, "Message") == []

    response = await bench.send(payload)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"messaging_product", "contacts", "messages"}
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+1 (650) 555-1234", "wa_id": USER}]
    [message] = body["messages"]
    assert set(message) == {"id"}
    assert re.fullmatch(r"wamid\.[A-Za-z0-9+/=]+", message["id"])


async def test_every_wamid_is_unique(bench: Bench) -> None:
    ids = {(await bench.send()).json()["messages"][0]["id"] for _ in range(20)}
    assert len(ids) == 20


async def test_any_api_version_is_served(bench: Bench) -> None:
    response = await bench.client.post(
        f"/v19.0/{NUMBER.phone_number_id}/messages",
        json=text_payload("hi"),
        headers={"Authorization": "Bearer tok"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic tok", "Bearer "])
async def test_a_bad_or_missing_token_is_190(bench: Bench, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await bench.client.post(
        f"/v23.0/{NUMBER.phone_number_id}/messages", json=text_payload("hi"), headers=headers
    )
    error = assert_meta_error(response, 190, 401)
    assert error["type"] == "OAuthException"
    assert "invalid_token" in response.headers["www-authenticate"]


async def test_an_unknown_phone_number_id_is_803(bench: Bench) -> None:
    response = await bench.client.post(
        "/v23.0/999999999/messages",
        json=text_payload("hi"),
        headers={"Authorization": "Bearer tok"},
    )
    error = assert_meta_error(response, 803, 404)
    assert error["type"] == "GraphMethodException"
    assert error["message"] == "(#803) Phone number not found"


async def test_a_token_of_another_number_is_190(bench: Bench) -> None:
    other = NUMBER.__class__(**{**NUMBER.__dict__, "phone_number_id": "2", "access_token": "t2"})
    bench.sandbox.provision(other)
    response = await bench.send(token="t2")
    assert_meta_error(response, 190, 401)


async def test_malformed_json_is_100(bench: Bench) -> None:
    response = await bench.client.post(
        f"/v23.0/{NUMBER.phone_number_id}/messages",
        content=b'{"messaging_product": "whatsapp",',
        headers={"Authorization": "Bearer tok", "Content-Type": "application/json"},
    )
    error = assert_meta_error(response, 100, 400)
    assert error["message"] == "(#100) Invalid parameter"


@pytest.mark.parametrize(
    ("change", "code", "detail"),
    [
        ({"to": None}, 131008, "to"),
        ({"messaging_product": None}, 131008, "messaging_product"),
        ({"messaging_product": "sms"}, 131009, "messaging_product"),
        ({"type": "hologram"}, 131051, "type"),
        ({"text": None}, 131008, "text"),
        ({"text": "hi"}, 100, "text"),
        ({"text": {"body": "hi", "colour": "red"}}, 100, "text.colour"),
        ({"text": {}}, 131008, "text.body"),
        ({"text": {"body": "hi", "preview_url": "yes"}}, 131009, "text.preview_url"),
        ({"to": "not a number"}, 131009, "to"),
        ({"to": "+1 555"}, 131009, "to"),
        ({"to": NUMBER.display_phone_number}, 131021, "to"),
        ({"recipient_type": "group"}, 131009, "recipient_type"),
        ({"surprise": 1}, 100, "surprise"),
        ({"context": {"id": "wamid.x"}}, 100, "context.id"),
        ({"biz_opaque_callback_data": "x" * 513}, 131009, "biz_opaque_callback_data"),
    ],
)
async def test_envelope_and_text_errors(
    bench: Bench, change: dict[str, Any], code: int, detail: str
) -> None:
    payload = {**text_payload("hi"), **change}
    payload = {key: value for key, value in payload.items() if value is not None}

    error = assert_meta_error(await bench.send(payload), code, 400)

    assert error["error_data"]["details"].startswith(detail)


async def test_a_body_of_4096_characters_is_accepted_and_4097_rejected(bench: Bench) -> None:
    assert (await bench.send(text_payload("x" * 4096))).status_code == 200

    error = assert_meta_error(await bench.send(text_payload("x" * 4097)), 131009, 400)

    assert error["error_data"]["details"] == (
        "text.body: is 4097 characters; at most 4096 are allowed"
    )


async def test_an_omitted_type_means_text(bench: Bench) -> None:
    payload = text_payload("hi")
    del payload["type"]
    assert (await bench.send(payload)).status_code == 200


@pytest.mark.parametrize("kind", ["image", "location", "interactive", "template", "reaction"])
async def test_other_kinds_need_their_body_object(bench: Bench, kind: str) -> None:
    payload = {"messaging_product": "whatsapp", "to": USER, "type": kind}
    assert_meta_error(await bench.send(payload), 131008, 400)
    assert_meta_error(await bench.send({**payload, kind: "nope"}), 100, 400)


async def test_mark_as_read_answers_success_and_marks_the_thread(bench: Bench) -> None:
    first = (
        await bench.client.post(
            f"/handsets/{USER}/send", json={"phone_number_id": NUMBER.phone_number_id, "text": "a"}
        )
    ).json()["id"]
    second = (
        await bench.client.post(
            f"/handsets/{USER}/send", json={"phone_number_id": NUMBER.phone_number_id, "text": "b"}
        )
    ).json()["id"]
    receipt = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": second,
        "typing_indicator": {"type": "text"},
    }

    response = await bench.send(receipt)

    assert response.status_code == 200
    assert response.json() == {"success": True}
    sent = (await bench.client.get(f"/handsets/{USER}/sent")).json()
    assert [(item["id"], item["read"]) for item in sent] == [(first, True), (second, True)]


async def test_mark_as_read_of_an_unknown_message_is_100(bench: Bench) -> None:
    receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}
    assert_meta_error(await bench.send(receipt), 100, 400)
    del receipt["message_id"]
    assert_meta_error(await bench.send(receipt), 131008, 400)
