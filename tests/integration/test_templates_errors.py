"""Every way a template send is refused at the API, in both request shapes: the code and the
field path, and nothing queued, nothing reaching the sandbox."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from tests.integration.test_templates import (
    HANDSET,
    ORDER,
    ORDER_PARAMETERS,
    approved,
    create,
    fast_review,
    inbox,
    webex,
)
from tests.support.harness import Harness, running

from wanode.store import Database
from wanode.store.tables import messages

pytestmark = pytest.mark.asyncio

Change = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Case:
    change: Change
    code: str
    field: str
    words: str = ""


def parameters(change: Change) -> Change:
    return lambda body: change(body["message"]["parameters"])


def native_components() -> list[dict[str, Any]]:
    return [
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


def native(wn: Harness) -> dict[str, Any]:
    return {
        "appid": wn.app_id,
        "to": HANDSET,
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": native_components(),
        },
    }


WEBEX_CASES = {
    "missing": Case(
        parameters(lambda p: p.pop("2")),
        "7804",
        "message.parameters.2",
        "Template Param Count Mismatch: message.parameters.2 is missing",
    ),
    "extra": Case(
        parameters(lambda p: p.update({"3": "x"})), "7804", "message.parameters.3", "not a param"
    ),
    "wrong type": Case(parameters(lambda p: p.update({"1": 5})), "7816", "message.parameters.1"),
    "wrong header kind": Case(
        parameters(
            lambda p: (
                p.update(image={"link": "https://a.example/i.png"}, headerText=None)
                or p.pop("headerText")
            )
        ),
        "7816",
        "message.parameters.image",
    ),
    "too long": Case(
        parameters(lambda p: p.update({"1": "x" * 1025})), "7808", "message.parameters.1"
    ),
    "header too long": Case(
        parameters(lambda p: p.update({"headerText": "x" * 61})),
        "7808",
        "message.parameters.headerText",
    ),
    "hydrated too long": Case(
        parameters(lambda p: p.update({"1": "a" * 600, "2": "b" * 600})),
        "7809",
        "message.parameters",
    ),
    "hydrated header too long": Case(
        parameters(lambda p: p.update({"headerText": "x" * 56})),
        "7809",
        "message.parameters.headerText",
    ),
    "character policy": Case(
        parameters(lambda p: p.update({"1": "two\nlines"})), "7811", "message.parameters.1"
    ),
    "quick replies": Case(
        parameters(lambda p: p["quickReply"].pop()), "7804", "message.parameters.quickReply"
    ),
    "currency": Case(
        parameters(lambda p: p.update({"1": {"type": "currency", "amount_1000": 5}})),
        "7003",
        "message.parameters.1.currency_code",
    ),
    "unknown id": Case(
        lambda b: b["message"].update(template="1234567890123456"), "7108", "message.template"
    ),
    "no template": Case(lambda b: b["message"].pop("template"), "7003", "message.template"),
    "other message field": Case(
        lambda b: b["message"].update(name="order_update"), "7004", "message.name"
    ),
    "wa content": Case(
        lambda b: b.update(
            channels={"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "hi"}}}}
        ),
        "7004",
        "channels.OTT-Messaging.wa.text",
    ),
}

NATIVE_CASES = {
    "unknown name": Case(
        lambda b: b["template"].update(name="no_such_template"), "7108", "template.name"
    ),
    "unknown language": Case(
        lambda b: b["template"].update(language={"code": "de"}),
        "7805",
        "template.language.code",
        "en_US",
    ),
    "no language": Case(lambda b: b["template"].pop("language"), "7003", "template.language"),
    "missing body parameter": Case(
        lambda b: b["template"]["components"][1]["parameters"].pop(),
        "7804",
        "template.components[1].parameters",
    ),
    "extra body parameter": Case(
        lambda b: b["template"]["components"][1]["parameters"].append(
            {"type": "text", "text": "x"}
        ),
        "7804",
        "template.components[1].parameters[2]",
    ),
    "wrong sub_type": Case(
        lambda b: b["template"]["components"][2].update(sub_type="url"),
        "7816",
        "template.components[2].sub_type",
    ),
    "too long": Case(
        lambda b: b["template"]["components"][1]["parameters"][0].update(text="x" * 1025),
        "7808",
        "template.components[1].parameters[0]",
    ),
    "unknown field": Case(lambda b: b.update(hsm={}), "7004", "hsm"),
}


async def _refused(wn: Harness, path: str, body: dict[str, Any], case: Case) -> None:
    response = await wn.client.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["response" if path.startswith("/resources") else "error"]
    assert (error["code"], error.get("field")) == (case.code, case.field), error
    text = error.get("description") or error.get("message")
    assert case.words in text
    async with wn.ctx.db.begin() as conn:
        queued = (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar()
    assert queued == 0
    assert await inbox(wn) == []


@pytest.mark.parametrize("case", WEBEX_CASES.values(), ids=WEBEX_CASES.keys())
async def test_messaging_api_refusals(db: Database, case: Case) -> None:
    async with running(db) as wn:
        fast_review(wn)
        template_id = await approved(wn, ORDER)
        body = webex(wn, template_id, copy.deepcopy(ORDER_PARAMETERS))
        case.change(body)
        await _refused(wn, "/resources/v1/messaging", body, case)


@pytest.mark.parametrize("case", NATIVE_CASES.values(), ids=NATIVE_CASES.keys())
async def test_native_api_refusals(db: Database, case: Case) -> None:
    async with running(db) as wn:
        fast_review(wn)
        await approved(wn, ORDER)
        body = native(wn)
        case.change(body)
        await _refused(wn, "/v1/messages", body, case)


async def test_templates_not_yet_approved_are_refused_in_both_shapes(db: Database) -> None:
    async with running(db) as wn:
        fast_review(wn, 30.0)
        template_id = (await create(wn, ORDER))["id"]
        webex_case = Case(lambda b: None, "7849", "message.template", "PENDING")
        await _refused(
            wn, "/resources/v1/messaging", webex(wn, template_id, ORDER_PARAMETERS), webex_case
        )
        await _refused(wn, "/v1/messages", native(wn), Case(lambda b: None, "7849", "template"))


async def test_a_template_of_another_waba_is_unknown(db: Database) -> None:
    async with running(db) as wn:
        fast_review(wn)
        template_id = await approved(wn, ORDER)
        other = await wn.client.post(
            "/v1/apps",
            json={
                "phone_number_id": "1065403522",
                "waba_id": "1022901293",
                "access_token": "other-token",
                "app_secret": "other-secret",
                "gateway": "sandbox",
            },
        )
        assert other.status_code == 201, other.text
        body = webex(wn, template_id, ORDER_PARAMETERS)
        body["appid"] = other.json()["id"]
        await _refused(
            wn, "/resources/v1/messaging", body, Case(lambda b: None, "7108", "message.template")
        )


async def test_the_identity_key_hash_rides_along(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        fast_review(wn)
        template_id = await approved(wn, ORDER)
        response = await wn.client.post(
            "/resources/v1/messaging",
            json=webex(
                wn,
                template_id,
                ORDER_PARAMETERS,
                channels={"OTT-Messaging": {"wa": {"identity_key_hash": "8VVr7x+1"}}},
            ),
        )
        assert response.status_code == 200, response.text
        message = await wn.message(response.json()["response"][0]["transid"])
        assert message["payload"]["recipient_identity_key_hash"] == "8VVr7x+1"
        assert message["payload"]["template"]["name"] == "order_update"
