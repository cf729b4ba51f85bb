"""Per-app API keys, on SQLite and PostgreSQL: an app's key acts on its own app's resources
only, for every resource family and in both directions (A's key on B's, B's key on A's); an
admin key acts on all; a revoked key is refused at once; upgraded installs keep their keys as
admin keys."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from tests.conftest import POSTGRES_URL, drop_schema
from tests.support.harness import Harness, running, wait_until

from wanode.api._cache import TtlCache
from wanode.api.context import KEY_TTL
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import contacts as contact_queries
from wanode.store import media as media_queries
from wanode.store.db import MIGRATIONS
from wanode.store.tables import dr_deliveries

pytestmark = pytest.mark.asyncio

ADA = "4915112345678"
BOB = "447911123456"


@dataclass(frozen=True)
class Tenant:
    """An app and a key of its own."""

    name: str
    app_id: str
    key: str
    key_id: str
    phone_number_id: str
    waba_id: str


async def tenants(wn: Harness) -> tuple[Tenant, Tenant]:
    """A (the default app) and B (a second sandbox app on another WABA), each with a key made
    through the API with the harness's admin key."""
    created = await wn.client.post(
        "/v1/apps",
        json={
            "name": "B",
            "phone_number_id": "106540352242922",
            "waba_id": "102290129340398",
            "access_token": "tok-b",
            "app_secret": "secret-b",
            "gateway": "sandbox",
        },
    )
    assert created.status_code == 201, created.text
    found = []
    for name, app in (("A", wn.app), ("B", created.json())):
        made = await wn.client.post("/v1/keys", json={"name": name, "app_id": app["id"]})
        assert made.status_code == 201, made.text
        key = made.json()
        assert key["app_id"] == app["id"] and key["admin"] is False and key["key"]
        found.append(
            Tenant(name, app["id"], key["key"], key["id"], app["phone_number_id"], app["waba_id"])
        )
    return found[0], found[1]


def both(a: Tenant, b: Tenant) -> list[tuple[Tenant, Tenant]]:
    return [(a, b), (b, a)]


async def call(wn: Harness, who: Tenant, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return await wn.client.request(method, path, headers={"key": who.key}, **kwargs)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    return str(body["response"]["code"] if "response" in body else body["error"]["code"])


def refused(response: httpx.Response) -> None:
    """A request naming another app: 7001 with 403, whatever that app is."""
    assert response.status_code == 403, response.text
    assert error_code(response) == "7001"


def absent(response: httpx.Response, code: str = "7600") -> None:
    """A resource of another app, addressed by id: as if it did not exist."""
    assert response.status_code == 404, response.text
    assert error_code(response) == code


def webex_text(app_id: str, to: str = ADA) -> dict[str, Any]:
    return {
        "appid": app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": [to]}],
        "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "hi"}}}},
    }


async def test_messages(db: Database) -> None:
    async with running(db) as wn:
        a, b = await tenants(wn)
        for own, other in both(a, b):
            sent = await call(
                wn, own, "POST", "/resources/v1/messaging", json=webex_text(own.app_id)
            )
            assert sent.status_code == 200, sent.text
            [item] = sent.json()["response"]
            assert item["code"] == "1001"
            transid = item["transid"]
            native = await call(
                wn,
                own,
                "POST",
                "/v1/messages",
                json={"appid": own.app_id, "to": BOB, "type": "text", "text": {"body": "hi"}},
            )
            assert native.status_code == 202, native.text

            # The other app's key: its sends from this app are refused, its reads find nothing.
            refused(
                await call(
                    wn, other, "POST", "/resources/v1/messaging", json=webex_text(own.app_id)
                )
            )
            refused(
                await call(
                    wn,
                    other,
                    "POST",
                    "/v1/messages",
                    json={"appid": own.app_id, "to": BOB, "type": "text", "text": {"body": "x"}},
                )
            )
            absent(await call(wn, other, "GET", f"/v1/messages/{transid}"))
            for who in (other, own):
                gone = await call(wn, who, "GET", f"/v1/messages/{native.json()['transid']}")
                assert gone.status_code == (200 if who is own else 404)
            mine = await call(wn, own, "GET", f"/v1/messages/{transid}")
            assert mine.status_code == 200 and mine.json()["appid"] == own.app_id
            assert (await wn.client.get(f"/v1/messages/{transid}")).status_code == 200  # admin
        # An app that does not exist is refused alike: a key learns nothing of other apps.
        refused(await call(wn, a, "POST", "/resources/v1/messaging", json=webex_text("a_404")))
        # A refused send queued nothing.
        async with db.begin() as conn:
            count = (await conn.execute(sa.text("SELECT count(*) FROM messages"))).scalar_one()
        assert count == 4


async def test_inbound_and_media(db: Database) -> None:
    async with running(db) as wn:
        a, b = await tenants(wn)
        for who, handset in ((a, ADA), (b, BOB)):
            wrote = await wn.client.post(
                f"/sandbox/handsets/{handset}/send",
                json={"phone_number_id": who.phone_number_id, "text": f"to {who.name}"},
            )
            assert wrote.status_code == 201, wrote.text

        async def everything() -> list[dict[str, Any]]:
            return list((await wn.client.get("/v1/inbound")).json()["messages"])

        await wait_until(everything, lambda m: len(m) == 2, timeout=10, what="both inbound")
        wamid_of: dict[str, str] = {}
        for who in (a, b):
            listed = (await call(wn, who, "GET", "/v1/inbound")).json()["messages"]
            assert [m["appid"] for m in listed] == [who.app_id]
            wamid_of[who.name] = listed[0]["wamid"]
        async with db.begin() as conn:
            for who in (a, b):
                await media_queries.record(
                    conn,
                    media_id=f"media-{who.name}",
                    wamid=wamid_of[who.name],
                    app_id=who.app_id,
                    mime_type="image/jpeg",
                    sha256=None,
                    at=0.0,
                )
        for own, other in both(a, b):
            refused(await call(wn, other, "GET", "/v1/inbound", params={"appid": own.app_id}))
            absent(await call(wn, other, "POST", f"/v1/inbound/{wamid_of[own.name]}/read"))
            read = await call(wn, own, "POST", f"/v1/inbound/{wamid_of[own.name]}/read")
            assert read.status_code == 200, read.text
            absent(await call(wn, other, "GET", f"/v1/media/media-{own.name}"))
            # Its own app's media is there (not downloaded yet: 409, or the bytes).
            mine = await call(wn, own, "GET", f"/v1/media/media-{own.name}")
            assert mine.status_code in (200, 409), mine.text
            upload = await call(
                wn,
                other,
                "POST",
                "/v1/media",
                data={"appid": own.app_id},
                files={"file": ("a.jpg", b"\xff\xd8\xff", "image/jpeg")},
            )
            refused(upload)
        assert len((await wn.client.get("/v1/inbound")).json()["messages"]) == 2  # admin


async def test_contacts(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, b = await tenants(wn)
        numbers = {"A": ADA, "B": BOB}
        for who in (a, b):
            made = await call(
                wn, who, "PUT", f"/v1/contacts/cust-{who.name}", json={"waid": numbers[who.name]}
            )
            assert made.status_code == 201, made.text
            assert made.json()["appid"] == who.app_id
        for own, other in both(a, b):
            path = f"/v1/contacts/cust-{own.name}"
            absent(await call(wn, other, "GET", path))
            absent(await call(wn, other, "DELETE", path))
            listed = (await call(wn, other, "GET", "/v1/contacts")).json()["contacts"]
            assert [c["customerid"] for c in listed] == [f"cust-{other.name}"]
            refused(await call(wn, other, "GET", "/v1/contacts", params={"appid": own.app_id}))
            # Neither its customer id nor its number can be taken over, and the answer does not
            # name the other app's customer.
            taken = await call(wn, other, "PUT", path, json={"waid": "14155552671"})
            assert taken.status_code == 409 and taken.json()["error"]["field"] == "customerid"
            stolen = await call(
                wn, other, "PUT", "/v1/contacts/new-one", json={"waid": numbers[own.name]}
            )
            assert stolen.status_code == 409 and stolen.json()["error"]["field"] == "waid"
            assert f"cust-{own.name}" not in stolen.text
            # A send to its customer id does not resolve from the other app.
            send = webex_text(other.app_id)
            send["destination"] = [{"customerid": [f"cust-{own.name}"]}]
            [item] = (await call(wn, other, "POST", "/resources/v1/messaging", json=send)).json()[
                "response"
            ]
            assert item["code"] != "1001"
            mine = await call(wn, own, "GET", path)
            assert mine.status_code == 200 and mine.json()["waid"] == numbers[own.name]
        # The admin key sees both, and a profile it writes without an app is admin-only.
        everyone = (await wn.client.get("/v1/contacts")).json()["contacts"]
        assert {c["customerid"] for c in everyone} == {"cust-A", "cust-B"}
        shared = await wn.client.put("/v1/contacts/shared", json={"waid": "14155552671"})
        assert shared.status_code == 201 and shared.json()["appid"] is None
        absent(await call(wn, a, "GET", "/v1/contacts/shared"))
        for who in (a, b):
            deleted = await call(wn, who, "DELETE", f"/v1/contacts/cust-{who.name}")
            assert deleted.status_code == 204
        async with db.begin() as conn:
            assert await contact_queries.get_by_customer_id(conn, "cust-A") is None


async def test_subscriptions(db: Database) -> None:
    async with running(db, start_engine=False, allow_private_urls=True) as wn:
        a, b = await tenants(wn)
        ids = {}
        for who in (a, b):
            made = await call(
                wn, who, "POST", "/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook"}
            )
            assert made.status_code == 201, made.text
            assert made.json()["appid"] == who.app_id  # an app key subscribes to its own app
            ids[who.name] = made.json()["id"]
        everyone = await wn.client.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/all"})
        assert everyone.status_code == 201 and everyone.json()["appid"] is None
        for own, other in both(a, b):
            path = f"/v1/subscriptions/{ids[own.name]}"
            absent(await call(wn, other, "GET", path))
            absent(await call(wn, other, "GET", f"{path}/deliveries"))
            absent(await call(wn, other, "DELETE", path))
            absent(await call(wn, other, "GET", f"/v1/subscriptions/{everyone.json()['id']}"))
            listed = (await call(wn, other, "GET", "/v1/subscriptions")).json()["subscriptions"]
            assert [s["id"] for s in listed] == [ids[other.name]]
            refused(
                await call(
                    wn,
                    other,
                    "POST",
                    "/v1/subscriptions",
                    json={"url": "http://127.0.0.1:9/x", "appid": own.app_id},
                )
            )
            assert (await call(wn, own, "GET", f"{path}/deliveries")).status_code == 200
        assert len((await wn.client.get("/v1/subscriptions")).json()["subscriptions"]) == 3
        for who in (a, b):
            gone = await call(wn, who, "DELETE", f"/v1/subscriptions/{ids[who.name]}")
            assert gone.status_code == 204


async def test_delivery_reports(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, b = await tenants(wn)
        dr_of: dict[str, int] = {}
        for who in (a, b):
            sent = await call(
                wn, who, "POST", "/resources/v1/messaging", json=webex_text(who.app_id)
            )
            transid = sent.json()["response"][0]["transid"]
            body = {"deliveryInfoNotification": {"deliveryInfo": {"code": "7500"}}}
            async with db.begin() as conn:
                result = await conn.execute(
                    dr_deliveries.insert().values(
                        transid=transid,
                        status="delivered",
                        url="http://127.0.0.1:9/dr",
                        body=body,
                        state="given_up",
                        attempts=8,
                        next_attempt_at=0.0,
                        created_at=0.0,
                        finished_at=0.0,
                    )
                )
                dr_of[who.name] = int(result.inserted_primary_key[0])
        for own, other in both(a, b):
            listed = (await call(wn, other, "GET", "/v1/delivery-reports")).json()
            assert [d["id"] for d in listed["deliveryReports"]] == [dr_of[other.name]]
            refused(
                await call(wn, other, "GET", "/v1/delivery-reports", params={"appid": own.app_id})
            )
            replayed = await call(
                wn, other, "POST", "/v1/delivery-reports/replay", json={"ids": [dr_of[own.name]]}
            )
            assert replayed.status_code == 200 and replayed.json() == {"replayed": 0}
            refused(
                await call(
                    wn,
                    other,
                    "POST",
                    "/v1/delivery-reports/replay",
                    json={"all": True, "appid": own.app_id},
                )
            )
        assert len((await wn.client.get("/v1/delivery-reports")).json()["deliveryReports"]) == 2
        # `all` with an app key replays its own app's only.
        replayed = await call(wn, a, "POST", "/v1/delivery-reports/replay", json={"all": True})
        assert replayed.json() == {"replayed": 1}
        async with db.begin() as conn:
            states = dict(
                (await conn.execute(sa.select(dr_deliveries.c.id, dr_deliveries.c.state))).all()
            )
        assert states == {dr_of["A"]: "pending", dr_of["B"]: "given_up"}


async def test_entry_points(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, b = await tenants(wn)
        codes = {}
        for who in (a, b):
            made = await call(
                wn,
                who,
                "POST",
                "/v1/entry-points",
                json={"appid": who.app_id, "prefilledMessage": f"hello {who.name}"},
            )
            assert made.status_code == 201, made.text
            codes[who.name] = made.json()["code"]
        for own, other in both(a, b):
            path = f"/v1/entry-points/{codes[own.name]}"
            for suffix in ("", "/qr.png", "/qr.svg"):
                absent(await call(wn, other, "GET", path + suffix))
                assert (await call(wn, own, "GET", path + suffix)).status_code == 200
            absent(await call(wn, other, "DELETE", path))
            listed = (await call(wn, other, "GET", "/v1/entry-points")).json()["entryPoints"]
            assert [e["code"] for e in listed] == [codes[other.name]]
            refused(await call(wn, other, "GET", "/v1/entry-points", params={"appid": own.app_id}))
            refused(
                await call(
                    wn,
                    other,
                    "POST",
                    "/v1/entry-points",
                    json={"appid": own.app_id, "prefilledMessage": "x"},
                )
            )
        assert len((await wn.client.get("/v1/entry-points")).json()["entryPoints"]) == 2
        for who in (a, b):
            deleted = await call(wn, who, "DELETE", f"/v1/entry-points/{codes[who.name]}")
            assert deleted.status_code == 204, deleted.text


TEMPLATE: dict[str, Any] = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "BODY", "text": "Hi {{1}}, thanks.", "example": {"body_text": [["Ana"]]}},
    ],
}


async def test_templates(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, b = await tenants(wn)
        ids = {}
        for who in (a, b):
            made = await call(
                wn,
                who,
                "POST",
                "/v1/templates",
                json={"appid": who.app_id, **copy.deepcopy(TEMPLATE)},
            )
            assert made.status_code == 201, made.text
            ids[who.name] = made.json()["id"]
        for own, other in both(a, b):
            path = f"/v1/templates/{ids[own.name]}"
            absent(await call(wn, other, "GET", path), code="7108")
            absent(await call(wn, other, "DELETE", path), code="7108")
            assert (await call(wn, own, "GET", path)).status_code == 200
            # (the sandbox's WABAs may hold templates of their own, found by a sync)
            listed = (await call(wn, other, "GET", "/v1/templates")).json()["templates"]
            assert ids[other.name] in {t["id"] for t in listed}
            assert {t["appid"] for t in listed} == {other.app_id}
            refused(await call(wn, other, "GET", "/v1/templates", params={"appid": own.app_id}))
            refused(
                await call(
                    wn,
                    other,
                    "POST",
                    "/v1/templates",
                    json={"appid": own.app_id, **copy.deepcopy(TEMPLATE), "name": "stolen"},
                )
            )
            refused(await call(wn, other, "POST", "/v1/templates/sync", json={"appid": own.app_id}))
            synced = await call(wn, own, "POST", "/v1/templates/sync", json={})
            assert synced.status_code == 200, synced.text
            assert [r["appid"] for r in synced.json()["synced"]] == [own.app_id]
        everything = (await wn.client.get("/v1/templates")).json()["templates"]
        assert {ids["A"], ids["B"]} <= {t["id"] for t in everything}
        deleted = await call(wn, a, "DELETE", f"/v1/templates/{ids['A']}")
        assert deleted.status_code == 204, deleted.text


def flow(flow_id: str, app_id: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": flow_id,
        "nodes": {"n1": {"type": "start", "on": {"onStart": "n2"}}, "n2": {"type": "end"}},
    }
    if app_id is not None:
        doc["app"] = app_id
    return doc


async def test_flows_and_runs(db: Database) -> None:
    async with running(db) as wn:
        a, b = await tenants(wn)
        runs = {}
        for who in (a, b):
            deployed = await call(wn, who, "POST", "/v1/flows", json=flow(f"flow-{who.name}"))
            assert deployed.status_code == 201, deployed.text
            assert deployed.json()["app_id"] == who.app_id
            run = await call(wn, who, "POST", f"/v1/flows/flow-{who.name}/runs", json={})
            assert run.status_code == 201, run.text
            runs[who.name] = run.json()["id"]
        for own, other in both(a, b):
            path = f"/v1/flows/flow-{own.name}"
            absent(await call(wn, other, "GET", path))
            absent(await call(wn, other, "POST", f"{path}/disable"))
            absent(await call(wn, other, "POST", f"{path}/enable"))
            absent(await call(wn, other, "POST", f"{path}/runs", json={}))
            absent(await call(wn, other, "GET", f"{path}/runs"))
            absent(await call(wn, other, "GET", f"{path}/runs/{runs[own.name]}"))
            listed = (await call(wn, other, "GET", "/v1/flows")).json()["flows"]
            assert [f["id"] for f in listed] == [f"flow-{other.name}"]
            refused(await call(wn, other, "POST", "/v1/flows", json=flow("x", own.app_id)))
            refused(
                await call(
                    wn, other, "POST", "/v1/flows", json=flow("x"), params={"app": own.app_id}
                )
            )
            # Redeploying its flow id is a conflict, not a takeover.
            taken = await call(wn, other, "POST", "/v1/flows", json=flow(f"flow-{own.name}"))
            assert taken.status_code == 409, taken.text
            mine = await call(wn, own, "GET", f"{path}/runs/{runs[own.name]}")
            assert mine.status_code == 200 and mine.json()["status"] == "completed"
            assert (await call(wn, own, "POST", f"{path}/disable")).status_code == 200
        assert len((await wn.client.get("/v1/flows")).json()["flows"]) == 2
        async with db.begin() as conn:
            versions = (await conn.execute(sa.text("SELECT count(*) FROM flow_versions"))).scalar()
        assert versions == 2


async def test_app_settings(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, b = await tenants(wn)
        for own, other in both(a, b):
            path = f"/v1/apps/{own.app_id}"
            absent(await call(wn, other, "GET", path), code="7104")
            absent(await call(wn, other, "GET", f"{path}/pacing"), code="7104")
            absent(await call(wn, other, "PATCH", path, json={"name": "mine now"}), code="7104")
            refused(await call(wn, other, "DELETE", path))
            listed = (await call(wn, other, "GET", "/v1/apps")).json()["apps"]
            assert [app["id"] for app in listed] == [other.app_id]
            renamed = await call(wn, own, "PATCH", path, json={"name": f"app {own.name}"})
            assert renamed.status_code == 200 and renamed.json()["name"] == f"app {own.name}"
            assert (await call(wn, own, "GET", f"{path}/pacing")).status_code == 200
        # Registering and deleting apps takes an admin key.
        new_app = {
            "phone_number_id": "106540352242999",
            "waba_id": "1",
            "access_token": "t",
            "app_secret": "s",
        }
        refused(await call(wn, a, "POST", "/v1/apps", json=new_app))
        refused(await call(wn, a, "DELETE", f"/v1/apps/{a.app_id}"))
        names = {app["id"]: app["name"] for app in (await wn.client.get("/v1/apps")).json()["apps"]}
        assert names == {a.app_id: "app A", b.app_id: "app B"}


async def test_keys_api(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, b = await tenants(wn)
        for own, other in both(a, b):
            listed = (await call(wn, own, "GET", "/v1/keys")).json()["keys"]
            assert [k["id"] for k in listed] == [own.key_id]
            assert all("key" not in k and "key_hash" not in k for k in listed)
            absent(await call(wn, other, "DELETE", f"/v1/keys/{own.key_id}"))
            refused(
                await call(wn, other, "POST", "/v1/keys", json={"name": "x", "app_id": own.app_id})
            )
            refused(await call(wn, other, "POST", "/v1/keys", json={"name": "x", "admin": True}))
            # Its own app's keys it may make and revoke.
            second = await call(wn, own, "POST", "/v1/keys", json={"app_id": own.app_id})
            assert second.status_code == 201, second.text
            revoked = await call(wn, own, "DELETE", f"/v1/keys/{second.json()['id']}")
            assert revoked.status_code == 204
        everything = (await wn.client.get("/v1/keys")).json()["keys"]
        admins = [k for k in everything if k["admin"]]
        assert len(everything) == 5 and len(admins) == 1 and admins[0]["app_id"] is None
        assert sum(k["revoked_at"] is not None for k in everything) == 2
        absent(await call(wn, a, "DELETE", f"/v1/keys/{admins[0]['id']}"))
        # A key names an app or is an admin key, explicitly.
        for body in ({"name": "x"}, {"admin": True, "app_id": a.app_id}):
            bad = await wn.client.post("/v1/keys", json=body)
            assert bad.status_code == 400 and bad.json()["error"]["field"] == "app_id"
        unknown = await wn.client.post("/v1/keys", json={"app_id": "a_404"})
        assert unknown.status_code == 400 and error_code(unknown) == "7104"
        made = await wn.client.post("/v1/keys", json={"name": "ops", "admin": True})
        assert made.status_code == 201 and made.json()["admin"] is True


async def test_revoked_key_is_refused_at_once(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, _b = await tenants(wn)
        assert (await call(wn, a, "GET", "/v1/apps")).status_code == 200  # now cached
        revoked = await wn.client.delete(f"/v1/keys/{a.key_id}")
        assert revoked.status_code == 204
        for path in ("/v1/apps", "/v1/contacts"):
            refused_now = await call(wn, a, "GET", path)
            assert refused_now.status_code == 401 and error_code(refused_now) == "7001"
        send = await call(wn, a, "POST", "/resources/v1/messaging", json=webex_text(a.app_id))
        assert send.status_code == 401
        assert send.json()["response"]["code"] == "7001"
        [row] = [k for k in (await wn.client.get("/v1/keys")).json()["keys"] if k["id"] == a.key_id]
        assert row["revoked_at"] is not None
        # Revoking again changes nothing.
        assert (await wn.client.delete(f"/v1/keys/{a.key_id}")).status_code == 204
        # An app key may revoke itself, and is refused from its next request on.
        own = await wn.client.post("/v1/keys", json={"app_id": a.app_id})
        me = own.json()
        assert (
            await wn.client.delete(f"/v1/keys/{me['id']}", headers={"key": me["key"]})
        ).status_code == 204
        assert (await wn.client.get("/v1/apps", headers={"key": me["key"]})).status_code == 401


async def test_another_process_revocation_is_seen_within_the_ttl(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, _b = await tenants(wn)
        now = [0.0]
        wn.ctx.keys = TtlCache(KEY_TTL, clock=lambda: now[0])
        assert (await call(wn, a, "GET", "/v1/apps")).status_code == 200  # now cached
        async with db.begin() as conn:  # as `wanode keys revoke` or another API process does
            assert await app_queries.revoke_key(conn, a.key_id, at=0.0)
        now[0] += KEY_TTL / 2
        assert (await call(wn, a, "GET", "/v1/apps")).status_code == 200  # still cached here
        now[0] += KEY_TTL / 2
        late = await call(wn, a, "GET", "/v1/apps")
        assert late.status_code == 401 and error_code(late) == "7001"


async def test_deleting_an_app_removes_its_keys(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        _a, b = await tenants(wn)
        assert (await call(wn, b, "GET", "/v1/apps")).status_code == 200  # now cached
        deleted = await wn.client.delete(f"/v1/apps/{b.app_id}")
        assert deleted.status_code == 204, deleted.text
        assert (await call(wn, b, "GET", "/v1/apps")).status_code == 401
        assert b.key_id not in {k["id"] for k in (await wn.client.get("/v1/keys")).json()["keys"]}


def _alembic(sync_conn: sa.Connection, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = sync_conn
    getattr(command, action)(config, revision)


async def test_keys_made_before_0008_become_admin_keys(db: Database, tmp_path: Path) -> None:
    """An install at 0007 (its own database, on `db`'s backend) upgraded to the head."""
    schema = None
    if db.is_sqlite:
        old = Database(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    else:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        async with db.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        old = Database(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with old.begin() as conn:
            await conn.run_sync(_alembic, "upgrade", "0007")
            await conn.execute(
                sa.text(
                    "INSERT INTO api_keys (id, name, key_hash, prefix, created_at) "
                    "VALUES (:id, 'old', :hash, 'wk_old', 0)"
                ),
                {"id": "k_old", "hash": uuid.uuid4().hex},
            )
        await old.migrate()
        async with old.begin() as conn:
            row = (
                await conn.execute(sa.text("SELECT app_id, admin FROM api_keys WHERE id = 'k_old'"))
            ).one()
        assert row.app_id is None and bool(row.admin) is True
    finally:
        await old.dispose()
        if schema is not None:
            await drop_schema(schema)
