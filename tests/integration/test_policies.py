"""Send policies end to end on SQLite and PostgreSQL: the 24-hour window, expiry, identity
change, customer-id destinations and +E.164 enforcement. Time is injected; nothing sleeps
longer than the sandbox's few milliseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import Receiver, receiver

from wanode.store import Database, contacts

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"
DAY = 24 * 3600.0


class Clock:
    """Real time plus an offset a test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _dr(received: Any) -> dict[str, Any]:
    return dict(received.json()["deliveryInfoNotification"]["deliveryInfo"])


async def _handset_writes(wn: Harness, text: str = "Hi") -> str:
    body = {"phone_number_id": wn.app["phone_number_id"], "text": text}
    response = await wn.client.post(f"/sandbox/handsets/{HANDSET}/send", json=body)
    assert response.status_code == 201, response.text
    wamid = str(response.json()["id"])

    async def inbound() -> list[str]:
        listed = (await wn.client.get("/v1/inbound", params={"waid": HANDSET})).json()
        return [m["wamid"] for m in listed["messages"]]

    await wait_until(inbound, lambda ids: wamid in ids, timeout=5, what="inbound stored")
    return wamid


async def _failed_with(wn: Harness, dr: Receiver, transid: str, code: str) -> dict[str, Any]:
    await wn.wait_status(transid, "failed")

    async def mine() -> list[dict[str, Any]]:
        notifications = [r.json()["deliveryInfoNotification"] for r in dr.requests]
        return [n["deliveryInfo"] for n in notifications if n["transid"] == transid]

    # This message's own DR: an earlier message's may be in already, this one still on its
    # way. Refused before it was sent, it has no 7501: the failure is its only DR.
    [report] = await wait_until(mine, bool, timeout=10, what=f"the DR of {transid}")
    assert (report["code"], report["deliveryStatus"]) == (code, "Failed"), report
    return report


async def test_window_open_then_closed_by_the_clock(db: Database) -> None:
    clock = Clock()
    async with receiver() as dr, running(db, clock=clock, policy_window=True) as wn:
        never = await wn.send_text(HANDSET, "Hello", notifyurl=f"{dr.url}/dr")
        report = await _failed_with(wn, dr, never.json()["response"][0]["transid"], "7710")
        assert "(#131047)" in report["additionalInfo"]
        assert (await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json() == []

        await _handset_writes(wn)
        inside = await wn.send_text(HANDSET, "Your table is ready")
        await wn.wait_status(inside.json()["response"][0]["transid"], "read")

        clock.offset = 24 * 3600 - 60  # still inside: a minute before the window closes
        late = await wn.send_text(HANDSET, "Still there?")
        await wn.wait_status(late.json()["response"][0]["transid"], "read")

        clock.offset = 25 * 3600
        closed = await wn.send_text(HANDSET, "Are you coming?", notifyurl=f"{dr.url}/dr")
        transid = closed.json()["response"][0]["transid"]
        await _failed_with(wn, dr, transid, "7710")
        message = await wn.message(transid)
        assert message["error"]["code"] == 131047
        assert len((await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json()) == 2


@pytest.mark.parametrize("form", ["seconds", "timestamp"])
async def test_expiry_by_seconds_and_by_timestamp(db: Database, form: str) -> None:
    clock = Clock()
    async with receiver() as dr, running(db, clock=clock, start_engine=False) as wn:
        moment = datetime.fromtimestamp(clock() + 60, UTC).isoformat().replace("+00:00", "Z")
        expiry: int | str = 60 if form == "seconds" else moment
        first = await wn.send_text(HANDSET, "soon", expiry=expiry, notifyurl=f"{dr.url}/dr")
        second = await wn.send_text(HANDSET, "in time", expiry=expiry)
        assert first.status_code == 200, first.text
        clock.offset = 61
        await wn.ctx.engine.run_until_idle()
        report = await _failed_with(wn, dr, first.json()["response"][0]["transid"], "7705")
        assert report["Description"] == "Message expired"
        assert (await wn.message(second.json()["response"][0]["transid"]))["status"] == "failed"

        clock.offset = 0
        fresh = await wn.send_text(HANDSET, "fresh", expiry=expiry)
        await wn.ctx.engine.run_until_idle()
        status = (await wn.message(fresh.json()["response"][0]["transid"]))["status"]
        assert status in ("submitted", "sent", "delivered", "read")


@pytest.mark.parametrize(
    ("expiry", "reason"),
    [(0, "positive"), (31 * 86400, "30 days"), ("next week", "ISO 8601"), (True, "seconds")],
)
async def test_bad_expiry_is_refused(db: Database, expiry: Any, reason: str) -> None:
    async with running(db, start_engine=False) as wn:
        response = await wn.send_text(HANDSET, "x", expiry=expiry)
        assert response.status_code == 400
        error = response.json()["response"]
        assert (error["code"], error["field"]) == ("7004", "expiry")
        assert reason in error["description"]


async def test_identity_change_midway(db: Database) -> None:
    async with receiver() as dr, running(db) as wn:
        await _handset_writes(wn)
        old = await _contact_hash(wn)
        ok = await wn.client.post(
            "/resources/v1/messaging",
            json=_with_hash(wn, old, notifyurl=f"{dr.url}/dr"),
        )
        await wn.wait_status(ok.json()["response"][0]["transid"], "read")
        reports = [_dr(r) for r in await dr.wait_for(3)]
        assert [r["code"] for r in reports] == ["7501", "7500", "7502"]
        assert reports[-1]["identityKeyHash"] == old

        new = (await wn.client.post(f"/sandbox/handsets/{HANDSET}/identity")).json()[
            "identity_key_hash"
        ]
        stale = await wn.client.post(
            "/resources/v1/messaging", json=_with_hash(wn, old, notifyurl=f"{dr.url}/dr")
        )
        transid = stale.json()["response"][0]["transid"]
        await wn.wait_status(transid, "failed")
        # The failed status may overtake the 7501 of the same message; wait for the failure.
        reports = await wait_until(
            lambda: _reports(dr),
            lambda found: any(r["deliveryStatus"] == "Failed" for r in found),
            timeout=10,
            what="the failed DR",
        )
        [failed] = [r for r in reports if r["deliveryStatus"] == "Failed"]
        assert failed["code"] == "7862" and failed["deliveryStatus"] == "Failed"
        assert failed["identityKeyHash"] == new
        assert "(#137000)" in failed["additionalInfo"]

        await wait_until(
            lambda: _contact_hash(wn), lambda h: h == new, timeout=5, what="new hash captured"
        )
        again = await wn.client.post("/resources/v1/messaging", json=_with_hash(wn, new))
        await wn.wait_status(again.json()["response"][0]["transid"], "read")


async def _reports(dr: Receiver) -> list[dict[str, Any]]:
    return [_dr(r) for r in dr.requests]


def _with_hash(wn: Harness, identity_key_hash: str, **extra: Any) -> dict[str, Any]:
    wa = {"type": "text", "text": {"body": "Your code"}, "identity_key_hash": identity_key_hash}
    return {
        "appid": wn.app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": [HANDSET]}],
        "channels": {"OTT-Messaging": {"wa": wa}},
        **extra,
    }


async def _contact_hash(wn: Harness) -> str:
    async with wn.ctx.db.begin() as conn:
        contact = await contacts.get(conn, HANDSET)
    assert contact is not None and contact["identity_key_hash"]
    return str(contact["identity_key_hash"])


async def test_customer_id_destinations(db: Database) -> None:
    async with running(db) as wn:
        put = await wn.client.put("/v1/contacts/cust-42", json={"waid": "+49 151 1234 5678"})
        assert put.status_code in (200, 201), put.text
        response = await wn.client.post(
            "/resources/v1/messaging",
            json={
                "appid": wn.app_id,
                "deliverychannel": "whatsapp",
                "destination": [
                    {"customerid": ["cust-42", "cust-unknown"], "correlationid": "c1"},
                    {"waid": ["4915199999999"]},
                ],
                "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "Hi"}}}},
            },
        )
        assert response.status_code == 200, response.text
        known, unknown, number = response.json()["response"]
        assert known["code"] == "1001" and known["correlationid"] == "c1"
        assert unknown == {
            "code": "7004",
            "description": "Invalid parameters/Values: destination[0].customerid[1] customer id "
            "'cust-unknown' has no WhatsApp contact profile",
            "field": "destination[0].customerid[1]",
            "correlationid": "c1",
        }
        assert number["code"] == "1001"
        message = await wn.wait_status(known["transid"], "read")
        assert (message["waid"], message["destination"]) == (HANDSET, "cust-42")
        assert message["destinationType"] == "customerid"

        native = await wn.client.post(
            "/v1/messages",
            json={
                "appid": wn.app_id,
                "customerid": "nobody",
                "type": "text",
                "text": {"body": "x"},
            },
        )
        assert native.status_code == 400
        assert native.json()["error"]["field"] == "customerid"


async def test_e164_enforced_per_app(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        patched = await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"require_e164": True})
        assert patched.status_code == 200 and patched.json()["require_e164"] is True
        for number, reason in [
            ("4915112345678", "must start with + and the country code"),
            ("+49 151 12345678", "digits only"),
        ]:
            refused = await wn.send_text(number, "x")
            assert refused.status_code == 400
            error = refused.json()["response"]
            assert error["field"] == "destination[0].waid[0]"
            assert reason in error["description"]
        assert (await wn.send_text("+4915112345678", "x")).status_code == 200
        await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"require_e164": False})
        assert (await wn.send_text("49 151 12345678", "x")).status_code == 200
