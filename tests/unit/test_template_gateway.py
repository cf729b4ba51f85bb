"""The gateways' template calls: the cloud adapter against the sandbox (paging, create, get,
delete, Meta's refusals) and against a scripted Graph (cursor rules), and the memory fake."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from wanode.gateway import (
    CloudGateway,
    Credentials,
    GatewayError,
    MemoryGateway,
    Rejected,
    TemplateRejected,
)
from wanode.sandbox import BusinessNumber, Sandbox, SandboxConfig

pytestmark = pytest.mark.asyncio

WABA = "102290129340398"
CREDS = Credentials(phone_number_id="106540352242922", access_token="tok", waba_id=WABA)
BODY: dict[str, Any] = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order ships today.",
            "example": {"body_text": [["Ana"]]},
        }
    ],
}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(SandboxConfig(template_review_delay=30.0))
    sandbox.provision(
        BusinessNumber(
            phone_number_id=CREDS.phone_number_id,
            waba_id=WABA,
            display_phone_number="15550783881",
            access_token="tok",
            app_secret="secret",
            webhook_url=None,
        )
    )
    yield sandbox
    await sandbox.aclose()


def cloud(sandbox: Sandbox, **options: Any) -> CloudGateway:
    return CloudGateway("http://sandbox", transport=httpx.ASGITransport(app=sandbox.app), **options)


async def test_create_get_list_and_delete_against_the_sandbox(sandbox: Sandbox) -> None:
    gateway = cloud(sandbox)
    try:
        created = await gateway.create_template(CREDS, BODY)
        assert created["status"] == "PENDING" and created["category"] == "UTILITY"

        fetched = await gateway.get_template(CREDS, created["id"])
        assert (fetched["id"], fetched["name"], fetched["status"]) == (
            created["id"],
            "order_update",
            "PENDING",
        )
        assert fetched["components"][0]["text"] == "Hi {{1}}, your order ships today."
        listed = await gateway.list_templates(CREDS)
        assert sorted(t["name"] for t in listed) == ["hello_world", "order_update"]

        await gateway.delete_template(CREDS, "order_update", template_id=created["id"])
        assert [t["name"] for t in await gateway.list_templates(CREDS)] == ["hello_world"]
    finally:
        await gateway.aclose()


async def test_every_page_is_followed(sandbox: Sandbox) -> None:
    gateway = cloud(sandbox, template_page_size=2)
    try:
        for number in range(6):
            await gateway.create_template(CREDS, {**copy.deepcopy(BODY), "name": f"t_{number}"})

        listed = await gateway.list_templates(CREDS)

        assert [t["name"] for t in listed] == ["hello_world", *(f"t_{n}" for n in range(6))]
    finally:
        await gateway.aclose()


async def test_metas_refusals_are_template_rejected(sandbox: Sandbox) -> None:
    gateway = cloud(sandbox)
    try:
        await gateway.create_template(CREDS, BODY)
        with pytest.raises(TemplateRejected) as twice:
            await gateway.create_template(CREDS, BODY)
        assert (twice.value.rejected.code, twice.value.rejected.http_status) == (100, 400)
        with pytest.raises(TemplateRejected) as unknown:
            await gateway.delete_template(CREDS, "no_such_template")
        assert unknown.value.rejected.code == 100
        with pytest.raises(TemplateRejected) as bad_token:
            await gateway.list_templates(Credentials("1", "wrong", WABA))
        assert bad_token.value.rejected.code == 190
    finally:
        await gateway.aclose()


def scripted(pages: list[dict[str, Any]], seen: list[httpx.Request]) -> CloudGateway:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=pages[len(seen) - 1])

    return CloudGateway(
        "https://graph.example", transport=httpx.MockTransport(answer), template_page_size=2
    )


def item(number: int) -> dict[str, Any]:
    return {"id": str(number), "name": f"t_{number}", "language": "en"}


async def test_cursors_are_followed_on_our_own_base_url_never_to_next() -> None:
    seen: list[httpx.Request] = []
    pages = [
        {
            "data": [item(1), item(2)],
            "paging": {
                "cursors": {"before": "b1", "after": "a2"},
                "next": "https://elsewhere.example/steal?after=a2",
            },
        },
        {"data": [item(3)], "paging": {"cursors": {"before": "b3", "after": "a3"}}},
    ]
    gateway = scripted(pages, seen)
    try:
        listed = await gateway.list_templates(CREDS)
    finally:
        await gateway.aclose()

    assert [t["id"] for t in listed] == ["1", "2", "3"]
    assert [r.url.host for r in seen] == ["graph.example", "graph.example"]
    assert seen[0].url.path == f"/v23.0/{WABA}/message_templates"
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert seen[0].url.params["limit"] == "2" and "after" not in seen[0].url.params
    assert seen[1].url.params["after"] == "a2"
    assert "components" in seen[0].url.params["fields"]


async def test_paging_stops_on_an_empty_page_or_a_repeated_cursor() -> None:
    seen: list[httpx.Request] = []
    full = {"data": [item(1), item(2)], "paging": {"cursors": {"after": "a2"}}}
    gateway = scripted([full, {"data": []}], seen)
    try:
        assert len(await gateway.list_templates(CREDS)) == 2
    finally:
        await gateway.aclose()
    assert len(seen) == 2

    seen.clear()
    looping = {"data": [item(1), item(2)], "paging": {"cursors": {"after": "a2"}, "next": "x"}}
    gateway = scripted([looping, looping, looping], seen)
    try:
        assert len(await gateway.list_templates(CREDS)) == 4
    finally:
        await gateway.aclose()
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("status", "answer", "raised"),
    [
        (200, {"paging": {}}, GatewayError),
        (200, {"id": None}, GatewayError),
        (503, "down", GatewayError),
        (
            400,
            {"error": {"code": 100, "message": "(#100) Invalid parameter", "error_data": {}}},
            TemplateRejected,
        ),
    ],
)
async def test_odd_answers(status: int, answer: Any, raised: type[Exception]) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=json.dumps(answer).encode())

    gateway = CloudGateway("https://graph.example", transport=httpx.MockTransport(respond))
    try:
        with pytest.raises(raised):
            if answer == {"id": None}:
                await gateway.create_template(CREDS, BODY)
            else:
                await gateway.list_templates(CREDS)
    finally:
        await gateway.aclose()


async def test_the_memory_gateway_keeps_templates_and_its_own_script() -> None:
    memory = MemoryGateway()
    created = await memory.create_template(CREDS, BODY)
    assert created["status"] == "PENDING"
    assert [t["name"] for t in await memory.list_templates(CREDS)] == ["order_update"]
    assert (await memory.get_template(CREDS, created["id"]))["status"] == "PENDING"

    refusal = Rejected(100, "Invalid parameter", "nope", 400, False)
    memory.script.append(refusal)
    assert await memory.list_templates(CREDS)  # a send's scripted failure is not taken
    assert list(memory.script) == [refusal]
    memory.template_script.append(refusal)
    with pytest.raises(TemplateRejected):
        await memory.list_templates(CREDS)

    await memory.delete_template(CREDS, "order_update")
    assert memory.templates == {}
    with pytest.raises(TemplateRejected):
        await memory.get_template(CREDS, created["id"])
    assert [call for call, _ in memory.template_calls] == [
        "create",
        "list",
        "get",
        "list",
        "list",
        "delete",
        "get",
    ]
