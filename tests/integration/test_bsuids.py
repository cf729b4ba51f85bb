"""Business-scoped user ids (BSUIDs) through the engine, on SQLite and PostgreSQL: webhooks
link a number to its BSUID per app, the Messaging API sends to `{"bsuid": [...]}` with Meta's
`recipient` field, the window applies to the contact behind it, and DRs say `bsuid`.

WhatsApp is a mock of Graph here (an app on the Cloud API gateway), so the webhooks are the
ones Meta documents since 2026, `contacts: [{wa_id, user_id}]` on messages and statuses.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import httpx
import orjson
import pytest
from tests.support.apps import stored_app
from tests.support.graph import GRAPH, TO, cloud_app, graph_mock
from tests.support.harness import Harness, running
from tests.support.receiver import receiver

from wanode.store import Database
from wanode.store import bsuids as bsuid_queries

pytestmark = pytest.mark.asyncio

BSUID = "DE.13491208655302741918"
PHONE_NUMBER_ID = "1065403522"
SECRET = "app-secret"


def _webhook(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1022901293",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001111",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def inbound(wamid: str, *, at: int, user_id: Any = BSUID) -> dict[str, Any]:
    return _webhook(
        {
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": TO, "user_id": user_id}],
            "messages": [
                {
                    "from": TO,
                    "id": wamid,
                    "timestamp": str(at),
                    "type": "text",
                    "text": {"body": "hi"},
                }
            ],
        }
    )


def status(wamid: str, state: str, *, at: int, user_id: str = BSUID) -> dict[str, Any]:
    return _webhook(
        {
            "contacts": [{"wa_id": TO, "user_id": user_id}],
            "statuses": [{"id": wamid, "status": state, "timestamp": str(at), "recipient_id": TO}],
        }
    )


async def post_webhook(wn: Harness, body: dict[str, Any]) -> None:
    raw = orjson.dumps(body)
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = await wn.client.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    assert response.status_code == 200, response.text


def accepted(wamid: str, *, by_bsuid: bool) -> httpx.Response:
    contact = {"input": BSUID if by_bsuid else TO, "wa_id": TO}
    if by_bsuid:
        contact["user_id"] = BSUID  # Meta names the BSUID when the send used one
    return httpx.Response(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": wamid}],
        },
    )


async def send(wn: Harness, app_id: str, destination: dict[str, Any], **extra: Any) -> Any:
    response = await wn.client.post(
        "/resources/v1/messaging",
        json={
            "appid": app_id,
            "deliverychannel": "whatsapp",
            "destination": [destination],
            "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "hello"}}}},
            **extra,
        },
    )
    return response


async def linked(db: Database, app_id: str) -> str | None:
    async with db.begin() as conn:
        return await bsuid_queries.of_number(conn, TO, app_id=app_id)


async def test_a_bsuid_learnt_from_a_status_addresses_the_contact_and_dr_say_so(
    db: Database,
) -> None:
    with graph_mock() as (graph, transport):
        route = graph.post(GRAPH).mock(
            side_effect=[
                accepted("wamid.BY_NUMBER", by_bsuid=False),
                accepted("wamid.BY_BSUID", by_bsuid=True),
            ]
        )
        async with receiver() as dr, running(db, cloud_transport=transport) as wn:
            app_id = await cloud_app(wn)
            # A send by number: WhatsApp's status names the BSUID, the DR carries it beside waid.
            first = await send(wn, app_id, {"waid": [TO]}, notifyurl=f"{dr.url}/dr")
            transid = first.json()["response"][0]["transid"]
            await wn.wait_status(transid, "submitted")
            await post_webhook(wn, status("wamid.BY_NUMBER", "delivered", at=1_750_000_000))
            await wn.wait_status(transid, "delivered")
            reports = [r.json()["deliveryInfoNotification"] for r in await dr.wait_for(2)]
            info = reports[1]["deliveryInfo"]
            assert (info["code"], info["waid"], info["destinationType"]) == ("7500", TO, "waid")
            assert info["bsuid"] == BSUID
            assert list(info)[:3] == ["timeStamp", "waid", "bsuid"]  # the reference's order
            assert "bsuid" not in reports[0]["deliveryInfo"]  # 7501: nothing named it yet
            assert await linked(db, app_id) == BSUID

            # Now a send by BSUID: Meta's `recipient` instead of `to`, to the same contact.
            second = await send(
                wn, app_id, {"bsuid": [BSUID], "correlationid": "c-7"}, notifyurl=f"{dr.url}/dr"
            )
            assert second.status_code == 200, second.text
            [queued] = second.json()["response"]
            assert (queued["code"], queued["correlationid"]) == ("1001", "c-7")
            message = await wn.wait_status(queued["transid"], "submitted")
            assert message["waid"] == TO
            body = orjson.loads(route.calls[1].request.content)
            assert body["recipient"] == BSUID and "to" not in body
            assert body["recipient_type"] == "individual"
            await post_webhook(wn, status("wamid.BY_BSUID", "read", at=1_750_000_100))
            await wn.wait_status(queued["transid"], "read")
            reports = [r.json()["deliveryInfoNotification"] for r in await dr.wait_for(5)]
            mine = [r for r in reports if r["transid"] == queued["transid"]]
            # `read` implies the delivery: its 7500 first.
            assert [r["deliveryInfo"]["code"] for r in mine] == ["7501", "7500", "7502"]
            for report in mine:
                info = report["deliveryInfo"]
                assert info["destinationType"] == "bsuid"
                assert (info["bsuid"], info["destination"], info["waid"]) == (BSUID, BSUID, TO)
                assert report["correlationid"] == "c-7"


async def test_the_window_applies_to_the_contact_a_bsuid_names(db: Database) -> None:
    with graph_mock() as (graph, transport):
        route = graph.post(GRAPH).mock(side_effect=[accepted("wamid.B1", by_bsuid=True)])
        async with running(db, cloud_transport=transport, policy_window=True) as wn:
            app_id = await cloud_app(wn)
            # Linked by a status only: the contact never wrote, so its window is closed.
            async with db.begin() as conn:
                await bsuid_queries.link(conn, [bsuid_queries.Link(app_id, TO, BSUID)], at=1.0)
            refused = (await send(wn, app_id, {"bsuid": [BSUID]})).json()["response"][0]
            failed = await wn.wait_status(refused["transid"], "failed")
            assert failed["error"]["code"] == 131047  # the window policy's verdict (DR 7710)
            assert not route.called  # refused before it left

            # The contact writes (the webhook names its BSUID): the window opens for it.
            now = int(wn.ctx.engine.clock())
            await post_webhook(wn, inbound("wamid.IN1", at=now))
            sent = (await send(wn, app_id, {"bsuid": [BSUID]})).json()["response"][0]
            message = await wn.wait_status(sent["transid"], "submitted")
            assert message["waid"] == TO
            assert route.call_count == 1


async def test_an_inbound_message_links_its_bsuid_and_a_changed_one_replaces_it(
    db: Database,
) -> None:
    async with running(db, start_engine=False) as wn:
        with graph_mock():
            app_id = await cloud_app(wn)
        await post_webhook(wn, inbound("wamid.IN1", at=1_750_000_000))
        assert await linked(db, app_id) == BSUID
        inbox = (await wn.client.get("/v1/inbound", params={"waid": TO})).json()
        assert inbox, "the message is stored"
        # A new BSUID for the number (Meta issues one when a user changes number).
        await post_webhook(wn, inbound("wamid.IN2", at=1_750_000_100, user_id="DE.77"))
        assert await linked(db, app_id) == "DE.77"
        async with db.begin() as conn:
            assert await bsuid_queries.numbers_of(conn, [BSUID, "DE.77"], app_id=app_id) == {
                "DE.77": TO
            }
        # A user_id of another type is ignored, not a reason to refuse the webhook.
        await post_webhook(wn, inbound("wamid.IN3", at=1_750_000_200, user_id=12345))
        assert await linked(db, app_id) == "DE.77"
        # The BSUID is the app's: another app's sends cannot use it.
        refused = (await send(wn, wn.app_id, {"bsuid": ["DE.77"]})).json()["response"][0]
        assert refused["code"] == "7004"
        assert refused["field"] == "destination[0].bsuid[0]"


async def test_bsuid_destinations_are_checked_one_by_one(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        async with db.begin() as conn:
            await bsuid_queries.link(
                conn, [bsuid_queries.Link(wn.app_id, "4915100000001", "GB.1001")], at=1.0
            )
        response = await wn.client.post(
            "/resources/v1/messaging",
            json={
                "appid": wn.app_id,
                "deliverychannel": "whatsapp",
                "destination": [
                    {"bsuid": ["GB.1001", "GB.404"], "correlationid": "per-dest"},
                    {"waid": ["4915100000002"]},
                ],
                "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "x"}}}},
                "correlationid": "top",
            },
        )
        assert response.status_code == 200, response.text
        known, unknown, number = response.json()["response"]
        assert (known["code"], known["correlationid"]) == ("1001", "per-dest")
        assert unknown["code"] == "7004" and unknown["field"] == "destination[0].bsuid[1]"
        assert "GB.404" in unknown["description"]
        assert (number["code"], number["correlationid"]) == ("1001", "top")
        message = await wn.message(known["transid"])
        assert message["waid"] == "4915100000001"
        assert message["payload"]["recipient"] == "GB.1001" and "to" not in message["payload"]

        for bad, code in [
            ("us.123", "7004"),  # the country code is in capitals
            ("US.ENT.118", "7004"),  # a parent BSUID is another identity
            ("US." + "1" * 126, "7004"),  # longer than a destination may be
            ("  ", "7003"),
            (42, "7004"),
        ]:
            refused = await wn.client.post(
                "/resources/v1/messaging",
                json={
                    "appid": wn.app_id,
                    "deliverychannel": "whatsapp",
                    "destination": [{"bsuid": [bad]}],
                    "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "x"}}}},
                },
            )
            assert refused.status_code == 400, (bad, refused.text)
            error = refused.json()["response"]
            assert (error["code"], error["field"]) == (code, "destination[0].bsuid[0]"), bad
        both = await wn.client.post(
            "/resources/v1/messaging",
            json={
                "appid": wn.app_id,
                "deliverychannel": "whatsapp",
                "destination": [{"bsuid": ["GB.1001"], "waid": ["4915100000002"]}],
                "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "x"}}}},
            },
        )
        assert (
            both.status_code == 400 and "exactly one of" in both.json()["response"]["description"]
        )


async def test_a_flow_send_node_addresses_a_bsuid(db: Database) -> None:
    doc = {
        "id": "by-bsuid",
        "variables": {"who": ""},
        "nodes": {
            "n1": {"type": "start", "on": {"onStart": "n2"}},
            "n2": {
                "type": "whatsapp",
                "destination_type": "bsuid",
                "destination": "$(who)",
                "wa": {"type": "text", "text": {"body": "hello"}},
                "on": {"onSuccess": "n3", "onError": "n4"},
            },
            "n3": {"type": "end"},
            "n4": {"type": "end"},
        },
    }
    async with running(db, start_engine=False) as wn:
        async with db.begin() as conn:
            await bsuid_queries.link(
                conn, [bsuid_queries.Link(wn.app_id, "4915100000001", "GB.1001")], at=1.0
            )
        deployed = await wn.client.post("/v1/flows", json=doc)
        assert deployed.status_code == 201, deployed.text

        async def run(who: str) -> dict[str, Any]:
            started = await wn.client.post(
                "/v1/flows/by-bsuid/runs", json={"variables": {"who": who}}
            )
            assert started.status_code == 201, started.text
            return dict(started.json())

        sent = await run("GB.1001")
        assert [h["outcome"] for h in sent["history"]][:2] == ["onStart", "onSuccess"]
        message = await wn.message(sent["outputs"]["n2"]["send.gatewayTid"])
        assert message["waid"] == "4915100000001"
        assert message["payload"]["recipient"] == "GB.1001"
        refused = await run("GB.404")
        assert [h["outcome"] for h in refused["history"]][:2] == ["onStart", "onError"]
        malformed = await run("not-a-bsuid")
        assert [h["outcome"] for h in malformed["history"]][:2] == ["onStart", "onError"]

        # A literal that is no BSUID is refused when the flow is deployed.
        literal = {**doc, "id": "bad"}
        literal["nodes"] = {**doc["nodes"], "n2": {**doc["nodes"]["n2"], "destination": "x.1"}}
        refused_doc = await wn.client.post("/v1/flows", json=literal)
        assert refused_doc.status_code == 400, refused_doc.text
        assert "business-scoped user id" in refused_doc.text


async def test_end_to_end_with_the_sandbox_a_handset_is_answered_by_its_bsuid(
    db: Database,
) -> None:
    handset = "4915112345678"
    async with receiver() as hook, running(db, allow_private_urls=True) as wn:
        subscribed = await wn.client.post(
            "/v1/subscriptions", json={"url": f"{hook.url}/events", "appid": wn.app_id}
        )
        assert subscribed.status_code == 201, subscribed.text
        wrote = await wn.client.post(
            f"/sandbox/handsets/{handset}/send",
            json={"phone_number_id": wn.app["phone_number_id"], "text": "table for two?"},
        )
        assert wrote.status_code == 201, wrote.text
        [event] = [r.json() for r in await hook.wait_for(1)]
        bsuid = event["bsuid"]
        assert re.fullmatch(r"DE\.\d{20}", bsuid) and event["waid"] == handset

        response = await send(
            wn, wn.app_id, {"bsuid": [bsuid]}, notifyurl=f"{hook.url}/dr", correlationid="e2e"
        )
        [queued] = response.json()["response"]
        assert queued["code"] == "1001", queued
        message = await wn.wait_status(queued["transid"], "read")
        assert message["waid"] == handset
        inbox = (await wn.client.get(f"/sandbox/handsets/{handset}/messages")).json()
        assert [m["text"] for m in inbox] == ["hello"]
        reports = [
            r.json()["deliveryInfoNotification"] for r in await hook.wait_for(4) if r.path == "/dr"
        ]
        assert [r["deliveryInfo"]["code"] for r in reports] == ["7501", "7500", "7502"]
        for report in reports:
            info = report["deliveryInfo"]
            assert (info["destinationType"], info["destination"]) == ("bsuid", bsuid)
            assert (info["bsuid"], info["waid"]) == (bsuid, handset)
            assert report["correlationid"] == "e2e"


async def test_one_batch_links_the_pairs_of_several_apps_each_against_its_own_rows(
    db: Database,
) -> None:
    """A status pass links the pairs of every app its statuses name with one read: each app's
    pairs replace only that app's contradicting rows, never another app's with the same
    number or BSUID."""
    first, second = await stored_app(db, "first"), await stored_app(db, "second")
    other = "4915100000002"
    async with db.begin() as conn:
        linked = await bsuid_queries.link(
            conn,
            [
                bsuid_queries.Link(first, TO, BSUID),
                bsuid_queries.Link(second, TO, "DE.2"),
                bsuid_queries.Link(second, other, BSUID),
            ],
            at=1.0,
        )
    assert linked == 3
    async with db.begin() as conn:
        # The first app's number changes BSUID, and its old BSUID moves to its other number.
        changed = await bsuid_queries.link(
            conn,
            [
                bsuid_queries.Link(first, TO, "DE.3"),
                bsuid_queries.Link(first, other, BSUID),
                bsuid_queries.Link(second, TO, "DE.2"),  # as it was: nothing to write
            ],
            at=2.0,
        )
        found = await bsuid_queries.of_contacts(
            conn, [(first, TO), (first, other), (second, TO), (second, other)]
        )
    assert changed == 2
    assert found == {
        (first, TO): "DE.3",
        (first, other): BSUID,
        (second, TO): "DE.2",
        (second, other): BSUID,
    }
