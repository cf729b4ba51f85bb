"""Status webhooks written in group commits: concurrent webhooks' statuses share a transaction,
and each webhook is answered only once its own statuses are committed. The answers, the
duplicates ignored, the order of a webhook's statuses and the loops woken are those of a
webhook written alone; a write that fails answers 500 (WhatsApp retries) to the webhooks whose
statuses it held, and to no other.

The failures are the database's own: a trigger that refuses some rows of the inbox.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from tests.support.harness import Harness, running

from wanode.sandbox.webhooks.delivery import sign
from wanode.store import Database
from wanode.store.tables import inbound_messages, webhook_statuses

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


def _status(wamid: str, status: str, at: int) -> dict[str, Any]:
    return {"id": wamid, "status": status, "timestamp": str(at), "recipient_id": HANDSET}


def _webhook(wn: Harness, statuses: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": wn.app["display_phone_number"],
            "phone_number_id": wn.app["phone_number_id"],
        },
        "statuses": statuses,
        **extra,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": wn.app["waba_id"], "changes": [{"field": "messages", "value": value}]}],
    }


async def _post(client: httpx.AsyncClient, wn: Harness, body: dict[str, Any]) -> httpx.Response:
    raw = orjson.dumps(body)
    return await client.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={
            "content-type": "application/json",
            "x-hub-signature-256": sign(raw, wn.app["app_secret"]),
        },
    )


def _tolerant(wn: Harness) -> httpx.AsyncClient:
    """A client that gets the 500 the server answers, where the harness's raises the error."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=wn.client._transport.app, raise_app_exceptions=False),  # type: ignore[attr-defined]
        base_url="http://wanode",
    )


async def _inbox(db: Database) -> list[tuple[int, str, str]]:
    """(id, wamid, status) of every stored status, in id order."""
    query = sa.select(
        webhook_statuses.c.id, webhook_statuses.c.wamid, webhook_statuses.c.status
    ).order_by(webhook_statuses.c.id)
    async with db.begin() as conn:
        return [(r.id, r.wamid, r.status) for r in await conn.execute(query)]


async def _refuse_statuses(db: Database, where: str) -> None:
    """From now on the database refuses every inbox row for which `where` holds (on NEW)."""
    async with db.begin() as conn:
        if db.is_sqlite:
            await conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse_statuses BEFORE INSERT ON webhook_statuses "
                    f"WHEN {where} BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
            return
        await conn.execute(
            sa.text(
                "CREATE FUNCTION refuse_statuses() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
            )
        )
        await conn.execute(
            sa.text(
                "CREATE TRIGGER refuse_statuses BEFORE INSERT ON webhook_statuses FOR EACH ROW "
                f"WHEN ({where}) EXECUTE FUNCTION refuse_statuses()"
            )
        )


async def _accept_statuses(db: Database) -> None:
    async with db.begin() as conn:
        if db.is_sqlite:
            await conn.execute(sa.text("DROP TRIGGER refuse_statuses"))
        else:
            await conn.execute(sa.text("DROP TRIGGER refuse_statuses ON webhook_statuses"))


async def test_concurrent_webhooks_each_answered_once_their_statuses_are_committed(
    db: Database,
) -> None:
    async with running(db, start_engine=False) as wn:
        now = int(time.time())
        # 60 webhooks at once, of 1 to 3 statuses; every fifth repeats the previous one's
        # statuses (WhatsApp retries), and a status for another business's number is ignored.
        bodies: list[dict[str, Any]] = []
        expected: list[int] = []
        for i in range(60):
            wamid = f"wamid.group-{i - 1 if i % 5 == 4 else i}"
            statuses = [_status(wamid, s, now + k) for k, s in enumerate(["sent", "delivered"])]
            statuses = statuses[: i % 3 + 1] if i % 5 != 4 else statuses
            bodies.append(_webhook(wn, statuses))
            expected.append(len(statuses))
        foreign = _webhook(wn, [_status("wamid.foreign", "sent", now)])
        foreign["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
        bodies.append(foreign)
        expected.append(0)

        async def deliver(body: dict[str, Any]) -> tuple[httpx.Response, set[tuple[str, str]]]:
            response = await _post(wn.client, wn, body)
            # Read as soon as the answer came: what was acknowledged is committed.
            mine = {
                (s["id"], s["status"]) for s in body["entry"][0]["changes"][0]["value"]["statuses"]
            }
            stored = {(wamid, status) for _, wamid, status in await _inbox(wn.ctx.db)}
            return response, mine & stored

        for event in wn.ctx.engine._wake.values():
            event.clear()
        results = await asyncio.gather(*(deliver(body) for body in bodies))

        for body, want, (response, committed) in zip(bodies, expected, results, strict=True):
            assert response.status_code == 200
            assert response.json() == {"received": want}
            statuses = body["entry"][0]["changes"][0]["value"]["statuses"]
            if want:
                assert committed == {(s["id"], s["status"]) for s in statuses}
        inbox = await _inbox(wn.ctx.db)
        pairs = [(wamid, status) for _, wamid, status in inbox]
        # Each (wamid, status) once, the retries' duplicates ignored, the foreign one not kept.
        assert len(pairs) == len(set(pairs))
        assert set(pairs) == {
            (s["id"], s["status"])
            for body in bodies[:-1]
            for s in body["entry"][0]["changes"][0]["value"]["statuses"]
        }
        # A webhook's statuses keep their order.
        ids = {(wamid, status): id_ for id_, wamid, status in inbox}
        for i in range(60):
            if i % 5 != 4 and i % 3 >= 1:
                assert ids[(f"wamid.group-{i}", "sent")] < ids[(f"wamid.group-{i}", "delivered")]
        # The status loop alone was woken.
        assert {name for name, event in wn.ctx.engine._wake.items() if event.is_set()} == {"status"}


async def test_a_failed_write_answers_500_and_the_retry_is_stored_once(db: Database) -> None:
    async with running(db, start_engine=False) as wn, _tolerant(wn) as client:
        now = int(time.time())
        # Few: the server logs each failure with its traceback, which takes a while to render.
        bodies = [_webhook(wn, [_status(f"wamid.retry-{i}", "sent", now)]) for i in range(4)]
        await _refuse_statuses(db, "1 = 1" if db.is_sqlite else "true")
        refused = await asyncio.gather(*(_post(client, wn, body) for body in bodies))
        assert [r.status_code for r in refused] == [500] * 4
        assert await _inbox(wn.ctx.db) == []
        for event in wn.ctx.engine._wake.values():
            event.clear()

        # WhatsApp retries: every status stored, once, and the status loop woken.
        await _accept_statuses(db)
        retried = await asyncio.gather(*(_post(client, wn, body) for body in [*bodies, *bodies]))
        assert [(r.status_code, r.json()) for r in retried] == [(200, {"received": 1})] * 8
        assert sorted(wamid for _, wamid, _ in await _inbox(wn.ctx.db)) == sorted(
            f"wamid.retry-{i}" for i in range(4)
        )
        assert wn.ctx.engine._wake["status"].is_set()


async def test_a_webhook_whose_statuses_cannot_be_written_fails_alone(db: Database) -> None:
    async with running(db, start_engine=False) as wn, _tolerant(wn) as client:
        now = int(time.time())
        await _refuse_statuses(db, "NEW.wamid = 'wamid.poison'")
        good = [_webhook(wn, [_status(f"wamid.good-{i}", "sent", now)]) for i in range(10)]
        poison = _webhook(
            wn, [_status("wamid.fine-too", "sent", now), _status("wamid.poison", "sent", now)]
        )
        answers = await asyncio.gather(
            *(_post(client, wn, body) for body in good[:5]),
            _post(client, wn, poison),
            *(_post(client, wn, body) for body in good[5:]),
        )
        assert [r.status_code for r in answers] == [200] * 5 + [500] + [200] * 5
        # The failed webhook left nothing behind (WhatsApp sends it again, whole).
        assert sorted(wamid for _, wamid, _ in await _inbox(wn.ctx.db)) == sorted(
            f"wamid.good-{i}" for i in range(10)
        )


async def test_status_webhooks_beside_an_inbound_message(db: Database) -> None:
    """A webhook with a message in it takes the transaction of its own, beside the grouped
    status webhooks; both are stored and answered as before."""
    async with running(db, start_engine=False) as wn:
        now = int(time.time())
        message = _webhook(
            wn,
            [_status("wamid.mixed-status", "delivered", now)],
            contacts=[{"profile": {"name": "Ada"}, "wa_id": HANDSET}],
            messages=[
                {
                    "from": HANDSET,
                    "id": "wamid.mixed-inbound",
                    "timestamp": str(now),
                    "type": "text",
                    "text": {"body": "hi"},
                }
            ],
        )
        statuses = [_webhook(wn, [_status(f"wamid.beside-{i}", "read", now)]) for i in range(8)]
        answers = await asyncio.gather(
            *(_post(wn.client, wn, body) for body in statuses[:4]),
            _post(wn.client, wn, message),
            *(_post(wn.client, wn, body) for body in statuses[4:]),
        )
        assert [r.json() for r in answers] == [{"received": 1}] * 4 + [{"received": 2}] + [
            {"received": 1}
        ] * 4
        assert sorted(wamid for _, wamid, _ in await _inbox(wn.ctx.db)) == sorted(
            ["wamid.mixed-status", *(f"wamid.beside-{i}" for i in range(8))]
        )
        async with wn.ctx.db.begin() as conn:
            inbound = (await conn.execute(sa.select(inbound_messages.c.wamid))).scalars().all()
        assert inbound == ["wamid.mixed-inbound"]


async def test_concurrent_status_webhooks_share_transactions(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        now = int(time.time())
        bodies = [_webhook(wn, [_status(f"wamid.shared-{i}", "sent", now)]) for i in range(41)]
        # The first reads the apps' secrets into their cache (a transaction of its own).
        assert (await _post(wn.client, wn, bodies.pop())).json() == {"received": 1}
        before = wn.ctx.db.commits
        answers = await asyncio.gather(*(_post(wn.client, wn, body) for body in bodies))
        commits = wn.ctx.db.commits - before
        assert [r.json() for r in answers] == [{"received": 1}] * 40
        assert len(await _inbox(wn.ctx.db)) == 41
        # One transaction per webhook before; now the ones that arrive together share one.
        assert 1 <= commits <= 10, commits
