"""Business-scoped user ids (BSUIDs), the loose ends, on SQLite and PostgreSQL: the contacts API
shows each profile's BSUID for its app, the native `POST /v1/messages` sends to a `bsuid` as the
Messaging API does, and a user who hides their number (a `user_id`, no `wa_id`, no `from`) is
stored and forwarded, never refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.test_bsuids import _webhook, accepted, post_webhook
from tests.support.graph import GRAPH, TO, cloud_app, graph_mock
from tests.support.harness import running
from tests.support.receiver import receiver

from wanode.store import Database
from wanode.store import bsuids as bsuid_queries

pytestmark = pytest.mark.asyncio

BSUID = "DE.55501208655302741918"
HIDDEN = "DE.99901208655302741918"


async def _link(db: Database, app_id: str, wa_id: str, bsuid: str) -> None:
    async with db.begin() as conn:
        await bsuid_queries.link(conn, [bsuid_queries.Link(app_id, wa_id, bsuid)], at=1.0)


async def test_contacts_show_the_bsuid_of_their_app(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        with graph_mock():
            other = await cloud_app(wn)
        put = await wn.client.put(
            "/v1/contacts/ana", json={"waid": "+4915100000011"}, params={"appid": wn.app_id}
        )
        assert put.status_code == 201, put.text
        assert put.json()["bsuid"] is None  # no webhook has named it yet
        await wn.client.put(
            "/v1/contacts/ben", json={"waid": "+4915100000012"}, params={"appid": wn.app_id}
        )
        shared = await wn.client.put("/v1/contacts/cy", json={"waid": "+4915100000013"})
        assert shared.status_code == 201, shared.text
        await _link(db, wn.app_id, "4915100000011", BSUID)
        # Another app's BSUID for the same number is that app's, not the profile's app's.
        await _link(db, other, "4915100000012", "DE.777")
        await _link(db, other, "4915100000013", "DE.888")

        ana = (await wn.client.get("/v1/contacts/ana")).json()
        assert (ana["waid"], ana["bsuid"]) == ("4915100000011", BSUID)
        assert (await wn.client.get("/v1/contacts/ben")).json()["bsuid"] is None
        listed = (await wn.client.get("/v1/contacts", params={"appid": wn.app_id})).json()
        assert {c["customerid"]: c["bsuid"] for c in listed["contacts"]} == {
            "ana": BSUID,
            "ben": None,
        }
        # A profile of no app: its BSUID is the one of the app the caller names.
        cy = "/v1/contacts/cy"
        assert (await wn.client.get(cy)).json()["bsuid"] is None
        assert (await wn.client.get(cy, params={"appid": other})).json()["bsuid"] == "DE.888"
        everyone = (await wn.client.get("/v1/contacts")).json()["contacts"]
        assert {c["customerid"]: c["bsuid"] for c in everyone} == {
            "ana": BSUID,
            "ben": None,
            "cy": None,
        }


async def test_the_native_send_takes_a_bsuid_like_the_messaging_api(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        await _link(db, wn.app_id, "4915100000021", BSUID)
        text = {"type": "text", "text": {"body": "hi"}}
        sent = await wn.client.post(
            "/v1/messages",
            json={"appid": wn.app_id, "bsuid": BSUID, "correlationid": "n-1", **text},
        )
        assert sent.status_code == 202, sent.text
        answer = sent.json()
        assert (answer["waid"], answer["correlationid"]) == ("4915100000021", "n-1")
        message = await wn.message(answer["transid"])
        assert (message["destination"], message["destinationType"]) == (BSUID, "bsuid")
        assert message["payload"]["recipient"] == BSUID and "to" not in message["payload"]

        for destination, code, reason in [
            ({"bsuid": "DE.404"}, "7004", "no webhook of the app has named it"),
            ({"bsuid": "de.404"}, "7004", "two-letter country code"),
            ({"bsuid": "US.ENT.118"}, "7004", "two-letter country code"),
            ({"bsuid": "  "}, "7003", "is empty"),
            ({"bsuid": 42}, "7004", "must be a string"),
            ({"bsuid": BSUID, "to": "4915100000021"}, "7004", "exactly one of"),
        ]:
            refused = await wn.client.post(
                "/v1/messages", json={"appid": wn.app_id, **destination, **text}
            )
            assert refused.status_code == 400, (destination, refused.text)
            error = refused.json()["error"]
            assert (error["code"], error["field"]) == (code, "bsuid"), destination
            assert reason in error["message"], error
        # The BSUID is the app's: another app cannot send to it.
        with graph_mock():
            other = await cloud_app(wn)
        foreign = await wn.client.post(
            "/v1/messages", json={"appid": other, "bsuid": BSUID, **text}
        )
        assert foreign.status_code == 400 and foreign.json()["error"]["field"] == "bsuid"

        schema = (await wn.client.get("/openapi.json")).json()["paths"]["/v1/messages"]["post"]
        body = schema["requestBody"]["content"]["application/json"]["schema"]["properties"]
        assert body["bsuid"]["pattern"].startswith("^[A-Z]{2}")
        assert {"to", "customerid"} <= set(body)


def _hidden_inbound(wamid: str, at: int, bsuid: str) -> dict[str, Any]:
    """A message from a user who hides their number: no `wa_id`, no `from`."""
    return _webhook(
        {
            "contacts": [{"profile": {"name": "@ana"}, "user_id": bsuid}],
            "messages": [
                {"id": wamid, "timestamp": str(at), "type": "text", "text": {"body": "psst"}}
            ],
        }
    )


async def test_a_user_who_hides_their_number_is_stored_and_forwarded(db: Database) -> None:
    with graph_mock() as (graph, transport):
        graph.post(GRAPH).mock(return_value=accepted("wamid.OUT", by_bsuid=True))
        async with (
            receiver() as hook,
            running(db, cloud_transport=transport, allow_private_urls=True) as wn,
        ):
            app_id = await cloud_app(wn)
            subscribed = await wn.client.post(
                "/v1/subscriptions", json={"url": f"{hook.url}/events", "appid": app_id}
            )
            assert subscribed.status_code == 201, subscribed.text
            await _link(db, app_id, TO, BSUID)

            # Unknown BSUID: stored with no number, forwarded with its bsuid and an empty waid.
            await post_webhook(wn, _hidden_inbound("wamid.H1", 1_750_000_000, HIDDEN))
            [first] = [r.json() for r in await hook.wait_for(1)]
            assert (first["tid"], first["waid"], first["bsuid"]) == ("wamid.H1", "", HIDDEN)
            assert (first["message"], first["username"]) == ("psst", "@ana")

            # A BSUID the app knows: the message is its contact's, as if `from` had said so.
            await post_webhook(wn, _hidden_inbound("wamid.H2", 1_750_000_100, BSUID))
            second = [r.json() for r in await hook.wait_for(2)][1]
            assert (second["tid"], second["waid"], second["bsuid"]) == ("wamid.H2", TO, BSUID)
            inbox = (await wn.client.get("/v1/inbound", params={"appid": app_id})).json()
            numbers = {m["wamid"]: m["waid"] for m in inbox["messages"]}
            assert numbers == {"wamid.H1": "", "wamid.H2": TO}
            contact = await wn.client.get("/v1/inbound", params={"waid": TO})
            assert [m["wamid"] for m in contact.json()["messages"]] == ["wamid.H2"]

            # A status naming its recipient by BSUID alone is applied to its message.
            sent = await wn.client.post(
                "/v1/messages",
                json={"appid": app_id, "bsuid": BSUID, "type": "text", "text": {"body": "ok"}},
            )
            assert sent.status_code == 202, sent.text
            transid = sent.json()["transid"]
            await wn.wait_status(transid, "submitted")
            status = {"id": "wamid.OUT", "status": "delivered", "timestamp": "1750000200"}
            await post_webhook(wn, _webhook({"statuses": [{**status, "recipient_user_id": BSUID}]}))
            delivered = await wn.wait_status(transid, "delivered")
            assert (delivered["waid"], delivered["destination"]) == (TO, BSUID)

            # The hidden user is linked to no number; the known one still to its own.
            async with db.begin() as conn:
                found = await bsuid_queries.numbers_of(conn, [HIDDEN, BSUID], app_id=app_id)
            assert found == {BSUID: TO}
