"""Subscriber webhooks: inbound WhatsApp events forwarded signed, once, in order per contact.

wanode runs with its engine stopped: the inbound path (sandbox handset -> webhook -> ingest)
does not need it, and each test drives its own `Forwarder` on a clock it can move, so retries
are due when the test says so and no other loop delivers behind its back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.support.harness import Harness, running
from tests.support.receiver import Received, Receiver, hanging_server, receiver

from wanode.api import errors, subscriptions
from wanode.engine.forwarder import Forwarder
from wanode.store import Database

pytestmark = pytest.mark.asyncio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
ALICE = "447700900001"
BOB = "447700900002"
CAROL = "447700900003"


@dataclass
class Skewed:
    """Real time plus an offset the test moves forward, to make a retry due at once."""

    skew: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.skew


@dataclass
class World:
    wn: Harness
    api: httpx.AsyncClient
    hook: Receiver
    clock: Skewed
    forwarder: Forwarder

    async def subscribe(self, path: str = "/events", **fields: Any) -> dict[str, Any]:
        response = await self.api.post(
            "/v1/subscriptions", json={"url": self.hook.url + path, **fields}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def handset_says(self, wa_id: str, text: str) -> str:
        response = await self.wn.client.post(
            f"/sandbox/handsets/{wa_id}/send",
            json={"phone_number_id": self.wn.app["phone_number_id"], "text": text},
        )
        assert response.status_code == 201, response.text
        await self.wn.sandbox.drain()
        return str(response.json()["id"])

    async def forward(self) -> int:
        """Forwarder passes until one finds nothing due; returns how many events it tried."""
        total = 0
        while done := await self.forwarder.run_once():
            total += done
        return total

    async def deliveries(self, sub: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self.api.get(f"/v1/subscriptions/{sub['id']}/deliveries")
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["deliveries"]))


@asynccontextmanager
async def world(db: Database, **settings: Any) -> AsyncIterator[World]:
    clock = Skewed()
    async with receiver() as hook, running(db, start_engine=False, **settings) as wn:
        # Until api/app.py includes the router, serve it beside the harness's API, same context.
        app = FastAPI()
        app.state.ctx = wn.ctx
        errors.install(app)
        app.include_router(subscriptions.router)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://wanode",
            headers={"key": wn.key},
        ) as api:
            forwarder = Forwarder(
                wn.ctx.db, wn.ctx.engine.notify_client, wn.ctx.settings, clock=clock
            )
            yield World(wn, api, hook, clock, forwarder)


def signed_by(secret: str, request: Received) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["x-hub-signature-256"], expected)


async def post_webhook(
    wn: Harness, app: dict[str, Any], fixture: str, *, wamid: str | None = None
) -> httpx.Response:
    """A recorded webhook addressed to `app`'s number, signed with its app secret as Meta does.
    Some fixtures share a wamid: `wamid` makes this one a message of its own."""
    body = json.loads((FIXTURES / f"{fixture}.json").read_text())
    value = body["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = app["phone_number_id"]
    if wamid is not None:
        value["messages"][0]["id"] = wamid
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(app["app_secret"].encode(), raw, hashlib.sha256).hexdigest()
    return await wn.client.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )


def texts(requests: list[Received]) -> list[tuple[str, str]]:
    return [(r.json()["waid"], r.json()["message"]) for r in requests]


# -- delivery --------------------------------------------------------------------------------


async def test_a_handset_message_reaches_the_subscriber_signed(db: Database) -> None:
    async with world(db) as w:
        sub = await w.subscribe()
        assert sub["secret"] and sub["appid"] is None and sub["events"] is None
        wamid = await w.handset_says(ALICE, "Do you open on Sunday?")

        assert await w.forward() == 1
        [request] = w.hook.requests
        assert request.path == "/events"
        assert signed_by(sub["secret"], request)
        assert not signed_by("another secret entirely", request)
        assert request.headers["x-wanode-event"] == "MO"
        assert request.headers["content-type"] == "application/json"
        event = request.json()
        assert {k: event[k] for k in ("event", "type", "message", "waid", "userId", "tid")} == {
            "event": "MO",
            "type": "text",
            "message": "Do you open on Sunday?",
            "waid": ALICE,
            "userId": ALICE,
            "tid": wamid,
        }
        assert (event["appId"], event["channel"]) == (w.wn.app_id, "WhatsApp")
        [delivery] = await w.deliveries(sub)
        assert (delivery["state"], delivery["attempts"], delivery["last_status_code"]) == (
            "delivered",
            1,
            200,
        )


async def test_a_chosen_secret_signs_and_is_shown_once(db: Database) -> None:
    async with world(db) as w:
        secret = "a secret the receiver already has"
        sub = await w.subscribe(secret=secret)
        assert sub["secret"] == secret
        listed = (await w.api.get("/v1/subscriptions")).json()["subscriptions"]
        shown = (await w.api.get(f"/v1/subscriptions/{sub['id']}")).json()
        assert [s["id"] for s in listed] == [sub["id"]]
        assert "secret" not in listed[0] and "secret" not in shown
        assert shown == {k: v for k, v in sub.items() if k != "secret"}

        await w.handset_says(ALICE, "hello")
        await w.forward()
        assert signed_by(secret, w.hook.requests[0])


async def test_the_same_webhook_twice_is_forwarded_once(db: Database) -> None:
    async with world(db) as w:
        sub = await w.subscribe()
        for _ in range(2):
            response = await post_webhook(w.wn, w.wn.app, "interactive_list_reply")
            assert response.status_code == 200, response.text

        assert await w.forward() == 1
        [request] = w.hook.requests
        assert request.headers["x-wanode-event"] == "list"
        assert request.json()["listRowIdentifier"] == "priority_express"
        assert len(await w.deliveries(sub)) == 1


async def test_a_contacts_events_wait_behind_a_retry_others_do_not(db: Database) -> None:
    async with world(db, notify_retry_interval=30.0) as w:
        sub = await w.subscribe()
        w.hook.responses = [503]
        await w.handset_says(ALICE, "first")
        await w.handset_says(ALICE, "second")

        assert await w.forward() == 1, "only Alice's first event: her second waits behind it"
        assert texts(w.hook.requests) == [(ALICE, "first")]

        await w.handset_says(BOB, "meanwhile")
        assert await w.forward() == 1, "Bob's thread is not held up by Alice's retry"

        w.clock.skew += 30.0
        assert await w.forward() == 2
        assert texts(w.hook.requests) == [
            (ALICE, "first"),
            (BOB, "meanwhile"),
            (ALICE, "first"),
            (ALICE, "second"),
        ]
        first, second, _bob = await w.deliveries(sub)
        assert (first["state"], first["attempts"], first["last_status_code"]) == (
            "delivered",
            2,
            200,
        )
        assert (second["state"], second["attempts"]) == ("delivered", 1)


async def test_retries_back_off_then_give_up_and_the_thread_moves_on(db: Database) -> None:
    async with world(db, notify_retries=2, notify_retry_interval=10.0) as w:
        sub = await w.subscribe()
        w.hook.responses = [500, 500, 500]
        await w.handset_says(ALICE, "first")
        await w.handset_says(ALICE, "second")

        assert await w.forward() == 1
        w.clock.skew += 10.0  # the first retry waits the interval...
        assert await w.forward() == 1
        w.clock.skew += 10.0  # ...the second waits twice as long
        assert await w.forward() == 0
        w.clock.skew += 10.0
        assert await w.forward() == 2, "third and last try of the first, then the second"
        assert texts(w.hook.requests) == [(ALICE, "first")] * 3 + [(ALICE, "second")]
        first, second = await w.deliveries(sub)
        assert (first["state"], first["attempts"], first["last_error"]) == ("failed", 3, "HTTP 500")
        assert second["state"] == "delivered"


async def test_a_no_retry_answer_fails_at_once_and_the_next_proceeds(db: Database) -> None:
    async with world(db) as w:
        sub = await w.subscribe()
        w.hook.responses = [404]
        await w.handset_says(ALICE, "first")
        await w.handset_says(ALICE, "second")

        assert await w.forward() == 2
        assert texts(w.hook.requests) == [(ALICE, "first"), (ALICE, "second")]
        first, second = await w.deliveries(sub)
        assert (first["state"], first["attempts"], first["last_status_code"]) == (
            "failed",
            1,
            404,
        )
        assert first["finished_at"] is not None
        assert second["state"] == "delivered"


async def test_an_unreachable_subscriber_is_retried(db: Database) -> None:
    async with world(db, notify_retries=1, notify_retry_interval=5.0) as w:
        sub = await w.api.post(
            "/v1/subscriptions", json={"url": "http://127.0.0.1:9/nobody-listens"}
        )
        await w.handset_says(ALICE, "anyone there?")
        assert await w.forward() == 1
        w.clock.skew += 5.0
        assert await w.forward() == 1
        [delivery] = await w.deliveries(sub.json())
        assert (delivery["state"], delivery["attempts"], delivery["last_status_code"]) == (
            "failed",
            2,
            None,
        )
        assert delivery["last_error"] == "ConnectError"


async def test_two_forwarders_share_the_work_without_doubling_or_reordering(db: Database) -> None:
    async with world(db) as w:
        await w.subscribe()
        said = [(who, f"{who} #{n}") for n in range(3) for who in (ALICE, BOB, CAROL)]
        for who, text in said:
            await w.handset_says(who, text)
        other = Forwarder(
            w.wn.ctx.db, w.wn.ctx.engine.notify_client, w.wn.ctx.settings, clock=w.clock
        )
        while sum(await asyncio.gather(w.forwarder.run_once(), other.run_once())):
            pass
        assert sorted(texts(w.hook.requests)) == sorted(said)
        for who in (ALICE, BOB, CAROL):
            assert [t for w_id, t in texts(w.hook.requests) if w_id == who] == [
                t for w_id, t in said if w_id == who
            ]


# -- filtering ---------------------------------------------------------------------------------


async def test_subscriptions_filter_by_app_and_event(db: Database) -> None:
    async with world(db) as w:
        other = {
            "phone_number_id": "109000000000001",
            "waba_id": "209000000000001",
            "access_token": "token",
            "app_secret": "other app secret",
            "gateway": "sandbox",
        }
        created = await w.wn.client.post("/v1/apps", json=other)
        assert created.status_code == 201, created.text
        other_app = {**created.json(), "app_secret": other["app_secret"]}

        await w.subscribe("/all")
        await w.subscribe("/ours", appid=w.wn.app_id)
        await w.subscribe("/theirs", appid=other_app["id"])
        await w.subscribe("/postbacks", events=["postback"])
        await w.subscribe("/our-lists", appid=w.wn.app_id, events=["list", "reply"])

        async def paths_after(app: dict[str, Any], fixture: str) -> list[str]:
            w.hook.requests.clear()
            wamid = f"wamid.{fixture}.{app['id']}"
            assert (await post_webhook(w.wn, app, fixture, wamid=wamid)).status_code == 200
            await w.forward()
            return sorted(r.path for r in w.hook.requests)

        assert await paths_after(w.wn.app, "text") == ["/all", "/ours"]
        assert await paths_after(w.wn.app, "button") == ["/all", "/ours", "/postbacks"]
        assert await paths_after(other_app, "interactive_button_reply") == ["/all", "/theirs"]
        assert await paths_after(w.wn.app, "interactive_list_reply") == [
            "/all",
            "/our-lists",
            "/ours",
        ]
        assert await paths_after(other_app, "image") == ["/all", "/theirs"]
        event = w.hook.requests[0].json()
        assert event["appId"] == other_app["id"]
        # Absolute and signed (tests/integration/test_spec_loose_ends.py fetches one).
        url = json.loads(event["attachments"])[0]["url"]
        assert url.startswith("http://127.0.0.1:8080/v1/media/1003383421387256?expires=")


async def test_deleting_a_subscription_drops_what_it_had_not_received(db: Database) -> None:
    async with world(db) as w:
        gone = await w.subscribe("/gone")
        await w.subscribe("/kept")
        await w.handset_says(ALICE, "hello")
        assert (await w.api.delete(f"/v1/subscriptions/{gone['id']}")).status_code == 204

        await w.forward()
        assert [r.path for r in w.hook.requests] == ["/kept"]
        assert (await w.api.get(f"/v1/subscriptions/{gone['id']}")).status_code == 404
        assert (await w.api.delete(f"/v1/subscriptions/{gone['id']}")).status_code == 404


async def test_messages_before_a_subscription_are_not_replayed(db: Database) -> None:
    async with world(db) as w:
        await w.handset_says(ALICE, "too early")
        await w.subscribe()
        await w.handset_says(ALICE, "just in time")
        assert await w.forward() == 1
        assert texts(w.hook.requests) == [(ALICE, "just in time")]


# -- API validation ----------------------------------------------------------------------------


INVALID = [
    ({}, "7003", "url"),
    ({"url": "ftp://example.com/hook"}, "7004", "url"),
    ({"url": " https://example.com/hook"}, "7004", "url"),
    ({"url": "$(n1.webhook)"}, "7004", "url"),
    ({"url": "https://example.com/hook", "events": ["MO", "delivered"]}, "7004", "events"),
    ({"url": "https://example.com/hook", "events": []}, "7004", "events"),
    ({"url": "https://example.com/hook", "events": "MO"}, "7004", "events"),
    ({"url": "https://example.com/hook", "appid": "a_nope"}, "7104", "appid"),
    ({"url": "https://example.com/hook", "secret": "short"}, "7004", "secret"),
    ({"url": "https://example.com/hook", "notifyurl": "x"}, "7004", "notifyurl"),
]


async def test_invalid_subscriptions_are_refused(db: Database) -> None:
    async with world(db) as w:
        for body, code, field in INVALID:
            response = await w.api.post("/v1/subscriptions", json=body)
            assert response.status_code == 400, (body, response.text)
            error = response.json()["error"]
            assert (error["code"], error["field"]) == (code, field), (body, error)
        assert (await w.api.get("/v1/subscriptions")).json() == {"subscriptions": []}
        unknown_event = await w.api.post(
            "/v1/subscriptions", json={"url": "https://example.com/hook", "events": ["read"]}
        )
        assert "unknown event 'read'" in unknown_event.json()["error"]["message"]


async def test_the_api_needs_a_key_and_dedupes_event_names(db: Database) -> None:
    async with world(db) as w:
        anonymous = await w.api.post(
            "/v1/subscriptions", json={"url": "https://example.com/h"}, headers={"key": ""}
        )
        assert anonymous.status_code == 401
        sub = await w.subscribe(events=["reply", "MO", "reply"])
        assert sub["events"] == ["reply", "MO"]
        assert sub["id"].startswith("sub_")
        assert (await w.api.get("/v1/subscriptions/sub_nope")).json()["error"]["field"] == "id"
        missing = await w.api.get("/v1/subscriptions/sub_nope/deliveries")
        assert missing.status_code == 404


async def test_a_hanging_subscriber_holds_back_no_other(db: Database) -> None:
    async with world(db, notify_timeout=3.0) as w, hanging_server() as stuck:
        hanging = await w.subscribe(url=f"{stuck}/events")
        healthy = await w.subscribe()
        for n in range(3):
            await w.handset_says(f"491510000000{n}", f"hello {n}")
        # One pass claims both subscribers' events and does not wait for the hanging one.
        assert await w.forwarder.pump() == 6
        await w.hook.wait_for(3, timeout=2.5)
        assert sorted(text for _, text in texts(w.hook.requests)) == [
            "hello 0",
            "hello 1",
            "hello 2",
        ]
        # Meanwhile the hanging subscriber's events are still on their way, not timed out.
        assert [(d["state"], d["last_error"]) for d in await w.deliveries(hanging)] == [
            ("pending", None)
        ] * 3
        await w.forwarder.drain()
        states = [d["state"] for d in await w.deliveries(healthy)]
        assert states == ["delivered"] * 3
