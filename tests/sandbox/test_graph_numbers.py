"""Graph's phone-number endpoints, access-token errors and unknown paths, as Meta answers them;
each answer checked against Meta's OpenAPI document where it has the operation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.sandbox.bench import NUMBER, USER, Bench, assert_meta_error, text_payload
from tests.support.openapi import errors

from wanode.sandbox import BusinessNumber

PID = NUMBER.phone_number_id
OTHER_WABA = BusinessNumber(
    phone_number_id="200000000000001",
    waba_id="200000000000009",
    display_phone_number="15550000001",
    access_token="other-token",
    app_secret="other-secret",
)


def assert_graph_error(response: httpx.Response, code: int, status: int) -> dict[str, Any]:
    """A Graph JSON error (never a bare 404/405), valid against Meta's GraphAPIError."""
    assert response.headers["content-type"].startswith("application/json")
    assert errors(response.json(), "GraphAPIError") == []
    return assert_meta_error(response, code, status)


async def test_a_phone_number_shows_metas_default_fields(bench: Bench) -> None:
    response = await bench.graph("GET", PID)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "display_phone_number", "verified_name", "quality_rating"}
    assert body["id"] == PID
    assert body["display_phone_number"] == f"+{NUMBER.display_phone_number}"
    assert errors(body, "PhoneNumberInfo") == []


async def test_a_phone_numbers_fields_pick_what_is_shown(bench: Bench) -> None:
    fields = "code_verification_status,name_status,throughput,health_status"
    body = (await bench.graph("GET", PID, params={"fields": fields})).json()

    # health_status is a field Graph knows that the sandbox has no value for: left out.
    assert body == {
        "id": PID,
        "code_verification_status": "VERIFIED",
        "name_status": "APPROVED",
        "throughput": {"level": "STANDARD"},
    }
    assert errors(body, "PhoneNumberInfo") == []
    unknown = await bench.graph("GET", PID, params={"fields": "id,colour"})
    error = assert_graph_error(unknown, 100, 400)
    assert "(colour)" in error["error_data"]["details"]


async def test_a_wabas_phone_numbers_are_its_own(bench: Bench) -> None:
    second = BusinessNumber(**{**NUMBER.__dict__, "phone_number_id": "106540352242923"})
    bench.sandbox.provision(second)
    bench.sandbox.provision(OTHER_WABA)

    body = (await bench.graph("GET", f"{NUMBER.waba_id}/phone_numbers")).json()

    assert [item["id"] for item in body["data"]] == [PID, second.phone_number_id]
    for item in body["data"]:
        assert errors(item, "PhoneNumber") == []
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    foreign = await bench.graph("GET", f"{OTHER_WABA.waba_id}/phone_numbers")
    assert_graph_error(foreign, 100, 400)


async def test_the_business_profile_is_read_and_updated(bench: Bench) -> None:
    update = {
        "messaging_product": "whatsapp",
        "about": "Blue shoes, every size",
        "email": "shop@example.com",
        "websites": ["https://example.com", "https://shop.example.com"],
        "vertical": "RETAIL",
    }
    assert errors(update, "WhatsAppBusinessProfileUpdateRequest") == []
    path = f"{PID}/whatsapp_business_profile"

    before = (await bench.graph("GET", path)).json()
    answer = await bench.graph("POST", path, json=update)
    after = (await bench.graph("GET", path)).json()
    some = (await bench.graph("GET", path, params={"fields": "about,vertical"})).json()

    assert before == {"data": [{"vertical": "OTHER", "messaging_product": "whatsapp"}]}
    assert answer.json() == {"success": True}
    assert errors(answer.json(), "WhatsAppBusinessProfileUpdateResponse") == []
    [profile] = after["data"]
    assert profile == update
    # Meta answers the profile flat in the item; its document nests it under business_profile.
    assert errors(profile, "WhatsAppBusinessProfile") == []
    assert some == {
        "data": [
            {
                "about": "Blue shoes, every size",
                "vertical": "RETAIL",
                "messaging_product": "whatsapp",
            }
        ]
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"about": "x" * 140}, "about"),
        ({"email": "not an address"}, "email"),
        ({"websites": ["https://a.example", "https://b.example", "https://c.example"]}, "websites"),
        ({"vertical": "SHOES"}, "vertical"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_a_bad_profile_update_is_100_naming_the_field(
    bench: Bench, change: dict[str, Any], field: str
) -> None:
    response = await bench.graph(
        "POST", f"{PID}/whatsapp_business_profile", json={"messaging_product": "whatsapp", **change}
    )
    error = assert_graph_error(response, 100, 400)
    assert error["error_data"]["details"].startswith(field)


async def inbound_and_statuses(bench: Bench) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A text from the handset, and the statuses of a reply to it."""
    await bench.client.post(
        f"/handsets/{USER}/send", json={"phone_number_id": PID, "text": "hello"}
    )
    await bench.settle()
    [contact] = bench.receiver.values()[-1]["contacts"]
    wamid = (await bench.send(text_payload("hi"))).json()["messages"][0]["id"]
    await bench.settle()
    return contact, bench.receiver.statuses(wamid)


async def test_identity_hashes_ride_on_webhooks_only_while_the_check_is_on(bench: Bench) -> None:
    path = f"{PID}/settings"
    default = (await bench.graph("GET", path)).json()
    off_contact, off_statuses = await inbound_and_statuses(bench)

    # The OpenAPI document's body; Meta's docs (and pywa) say enable_identity_key_check.
    on = await bench.graph("POST", path, json={"user_identity_change": {"enabled": True}})
    enabled = (await bench.graph("GET", path)).json()
    on_contact, on_statuses = await inbound_and_statuses(bench)
    await bench.identity_check(False)
    again_contact, again_statuses = await inbound_and_statuses(bench)

    assert default["user_identity_change"] == {"enable_identity_key_check": False}
    assert errors(default, "PhoneNumberSettingsResponse") == []
    assert on.json() == {"success": True}
    assert enabled["user_identity_change"] == {"enable_identity_key_check": True}
    current = (await bench.client.get(f"/handsets/{USER}")).json()["identity_key_hash"]
    assert "identity_key_hash" not in off_contact
    assert "identity_key_hash" not in again_contact
    assert on_contact["identity_key_hash"] == current
    assert [s["status"] for s in on_statuses] == ["sent", "delivered", "read"]
    assert {s["recipient_identity_key_hash"] for s in on_statuses} == {current}
    for item in off_statuses + again_statuses:
        assert "recipient_identity_key_hash" not in item


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user_identity_change": {"enabled": True}, "calling": {"status": "ENABLED"}},
        {"user_identity_change": {"enabled": "yes"}},
        {"user_identity_change": {}},
        {"storage_configuration": {"status": "DEFAULT"}},
        {"colour": "blue"},
    ],
)
async def test_a_bad_settings_change_is_100(bench: Bench, body: dict[str, Any]) -> None:
    response = await bench.graph("POST", f"{PID}/settings", json=body)
    assert_graph_error(response, 100, 400)
    settings = (await bench.graph("GET", f"{PID}/settings")).json()
    assert settings["user_identity_change"] == {"enable_identity_key_check": False}


async def test_a_blocked_user_cannot_message_the_business_until_unblocked(bench: Bench) -> None:
    path = f"{PID}/block_users"
    body = {"messaging_product": "whatsapp", "block_users": [{"user": "+1 650-555-1234"}]}

    blocked = await bench.graph("POST", path, json=body)
    listed = (await bench.graph("GET", path)).json()
    refused = await bench.client.post(
        f"/handsets/{USER}/send", json={"phone_number_id": PID, "text": "let me in"}
    )
    unblocked = await bench.graph("DELETE", path, json=body)
    after = (await bench.graph("GET", path)).json()
    let_in = await bench.client.post(
        f"/handsets/{USER}/send", json={"phone_number_id": PID, "text": "thanks"}
    )
    await bench.settle()

    user = {"input": "+1 650-555-1234", "wa_id": USER}
    assert blocked.json() == {
        "messaging_product": "whatsapp",
        "block_users": {"added_users": [user]},
    }
    assert errors(blocked.json(), "BlockUsersData") == []
    assert listed["data"] == [
        {"messaging_product": "whatsapp", "wa_id": USER, "input": "+1 650-555-1234"}
    ]
    assert errors(listed, "GetBlockedUsersData") == []
    assert refused.status_code == 409
    assert unblocked.json() == {
        "messaging_product": "whatsapp",
        "block_users": {"removed_users": [user]},
    }
    assert errors(unblocked.json(), "UnblockUsersData") == []
    assert after == {"data": []}
    assert let_in.status_code == 201
    texts = [m["text"]["body"] for v in bench.receiver.values() for m in v.get("messages", [])]
    assert texts == ["thanks"]


@pytest.mark.parametrize(
    "body",
    [
        {"messaging_product": "whatsapp", "block_users": []},
        {"messaging_product": "whatsapp", "block_users": [{"user": "not a number"}]},
        {"block_users": [{"user": USER}]},
    ],
)
async def test_a_bad_block_request_is_graph_error(bench: Bench, body: dict[str, Any]) -> None:
    response = await bench.graph("POST", f"{PID}/block_users", json=body)
    assert response.status_code == 400
    assert errors(response.json(), "GraphAPIError") == []
    assert response.json()["error"]["code"] in (100, 131008)


async def test_register_takes_a_six_digit_pin(bench: Bench) -> None:
    path = f"{PID}/register"
    first = await bench.graph("POST", path, json={"messaging_product": "whatsapp", "pin": "123456"})
    again = await bench.graph("POST", path, json={"messaging_product": "whatsapp", "pin": "123456"})
    other_pin = await bench.graph(
        "POST", path, json={"messaging_product": "whatsapp", "pin": "654321"}
    )
    short = await bench.graph("POST", path, json={"messaging_product": "whatsapp", "pin": "12"})
    details = (await bench.graph("GET", PID, params={"fields": "is_pin_enabled,status"})).json()

    assert first.json() == again.json() == {"success": True}
    assert errors(first.json(), "SuccessResponse") == []
    assert "PIN" in assert_graph_error(other_pin, 100, 400)["error_data"]["details"]
    assert "6 digits" in assert_graph_error(short, 100, 400)["error_data"]["details"]
    assert details == {"id": PID, "is_pin_enabled": True, "status": "CONNECTED"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/v23.0/{PID}/no_such_edge"),
        ("PUT", f"/v23.0/{PID}/messages"),
        ("GET", f"/v23.0/{PID}/messages"),
        ("PATCH", f"/v23.0/{PID}/settings"),
        ("GET", f"/v23.0/{NUMBER.waba_id}/no_such_edge/deeper"),
        ("GET", "/no/such/path"),
    ],
)
async def test_unknown_paths_and_methods_answer_a_graph_error(
    bench: Bench, method: str, path: str
) -> None:
    response = await bench.client.request(
        method, path, headers={"Authorization": f"Bearer {NUMBER.access_token}"}
    )
    error = assert_graph_error(response, 100, 400)
    assert error["type"] == "GraphMethodException"
    assert error["error_data"]["details"].startswith(f"Unsupported {method.lower()} request")


async def test_an_unknown_path_judges_the_token_first(bench: Bench) -> None:
    response = await bench.client.get(f"/v23.0/{PID}/no_such_edge")
    assert_meta_error(response, 190, 401)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "An access token is required to request this resource."),
        ({"Authorization": "Bearer "}, "An access token is required to request this resource."),
        ({"Authorization": "Basic dG9rOg=="}, "Invalid OAuth access token - Cannot parse"),
        ({"Authorization": "Bearer nope"}, "Invalid OAuth access token - Cannot parse"),
        ({"Authorization": "Bearer tok\x7f"}, "Invalid OAuth access token - Cannot parse"),
    ],
)
async def test_a_missing_or_malformed_token_is_190_in_graphs_words(
    bench: Bench, headers: dict[str, str], message: str
) -> None:
    response = await bench.client.post(
        f"/v23.0/{PID}/messages", json=text_payload("hi"), headers=headers
    )
    error = assert_meta_error(response, 190, 401)
    assert error["message"].startswith(message)
    assert "error_subcode" not in error
    assert "Access token has expired" not in error["message"]


async def test_a_replaced_token_is_190_expired_with_subcode_463(bench: Bench) -> None:
    bench.sandbox.provision(BusinessNumber(**{**NUMBER.__dict__, "access_token": "fresh"}))

    expired = await bench.send(token=NUMBER.access_token)
    fresh = await bench.send(token="fresh")

    error = assert_meta_error(expired, 190, 401)
    assert error["error_subcode"] == 463
    assert error["message"].startswith("Error validating access token: Session has expired on ")
    assert fresh.status_code == 200


async def test_templates_take_every_field_meta_knows_and_a_summary(bench: Bench) -> None:
    fields = "id,name,language,status,category,components,parameter_format,"
    fields += "message_send_ttl_seconds,quality_score,rejected_reason,library_template_name"
    summary = "total_count,message_template_count,message_template_limit,are_translations_complete"

    response = await bench.graph(
        "GET",
        f"{NUMBER.waba_id}/message_templates",
        params={"fields": fields, "summary": summary, "name": "hello_world"},
    )
    bad_summary = await bench.graph(
        "GET", f"{NUMBER.waba_id}/message_templates", params={"summary": "colour"}
    )

    body = response.json()
    assert response.status_code == 200
    [template] = body["data"]
    assert template["name"] == "hello_world"
    assert template["rejected_reason"] == "NONE"
    assert "message_send_ttl_seconds" not in template  # none set: Graph leaves it out
    assert body["summary"] == {
        "total_count": 1,
        "message_template_count": 1,
        "message_template_limit": 250,
        "are_translations_complete": True,
    }
    assert_graph_error(bad_summary, 100, 400)


def test_wanodes_setting_starts_every_number_with_the_check_on_or_off() -> None:
    from wanode.cli.bootstrap import build_sandbox
    from wanode.config import Settings

    on = build_sandbox(Settings(sandbox_identity_check=True))
    off = build_sandbox(Settings())

    assert on.number_states.of(PID).identity_check is True
    assert off.number_states.of(PID).identity_check is False
