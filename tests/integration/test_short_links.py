"""Link shortening and click tracking (`options`), end to end on SQLite and PostgreSQL: a
text's URL is replaced by a short link served by wanode; following it (an HTTP GET) redirects
to the original URL and produces a "Clicked" report and a `clicked` subscriber event."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import drop_schema, make_database
from tests.integration.test_templates import approved, fast_review
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import receiver

from wanode.store import Database
from wanode.store import messages as outbox
from wanode.store import short_links as short_links_store
from wanode.store.tables import link_clicks, short_links

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"
DOMAIN = "go.example.test"
BASE = f"https://{DOMAIN}/l/"
SHORT = re.compile(re.escape(BASE) + r"([A-Za-z0-9_-]{12})")
TARGET = "https://shop.example.com/spring?item=42&ref=wa"
OPTIONS = {"trackClicks": True, "domain": DOMAIN, "tag1": "spring", "tag2": "promo"}
LINKS = {"short_link_domains": f"{DOMAIN},https://links.example.test"}


@dataclass
class Skewed:
    """Real time plus an offset the test moves forward (past a short link's 180 days)."""

    skew: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.skew


async def inbox(wn: Harness, wa_id: str = HANDSET) -> list[dict[str, Any]]:
    return list((await wn.client.get(f"/sandbox/handsets/{wa_id}/messages")).json())


def messaging(wn: Harness, wa: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "appid": wn.app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": [HANDSET]}],
        "channels": {"OTT-Messaging": {"wa": wa}},
        **extra,
    }


def text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body}}


async def test_a_clicked_short_link_redirects_and_reports_clicked(db: Database) -> None:
    async with receiver() as hook, running(db, **LINKS) as wn:
        subscribed = await wn.client.post(
            "/v1/subscriptions", json={"url": f"{hook.url}/events", "events": ["clicked"]}
        )
        assert subscribed.status_code == 201, subscribed.text
        response = await wn.client.post(
            "/resources/v1/messaging",
            json=messaging(
                wn,
                text(f"Spring sale: {TARGET}. Details at https://shop.example.com/faq"),
                notifyurl=f"{hook.url}/dr",
                correlationid="campaign-7",
                callbackData="cb-1",
                options=OPTIONS,
            ),
        )
        assert response.status_code == 200, response.text
        [item] = response.json()["response"]
        transid = item["transid"]
        await wn.wait_status(transid, "read")

        [sent] = await inbox(wn)
        codes = SHORT.findall(sent["text"])
        assert len(codes) == 2 and len(set(codes)) == 2
        assert "shop.example.com" not in sent["text"]
        assert sent["text"] == (f"Spring sale: {BASE}{codes[0]}. Details at {BASE}{codes[1]}"), (
            "the full stop after the first URL stays outside its link"
        )

        # The visitor cannot change where the link leads.
        click = await wn.client.get(f"/l/{codes[0]}?url=https://evil.example/")
        assert click.status_code == 302
        assert click.headers["location"] == TARGET
        assert click.headers["cache-control"] == "no-store"

        dr_posts = [r for r in await hook.wait_for(5) if r.path == "/dr"]
        reports = [r.json()["deliveryInfoNotification"] for r in dr_posts]
        clicked = [r for r in reports if r["deliveryInfo"]["deliveryStatus"] == "Clicked"]
        [report] = clicked
        info = report["deliveryInfo"]
        assert report["transid"] == transid
        assert report["correlationid"] == "campaign-7"
        assert report["callbackData"] == "cb-1"
        assert info["Description"] == "Clicked"
        assert info["url"] == TARGET
        assert info["shortUrl"] == BASE + codes[0]
        assert (info["tag1"], info["tag2"]) == ("spring", "promo")
        assert info["waid"] == HANDSET
        assert info["clickId"].startswith("clk_")
        [dr_post] = [p for p in dr_posts if p.json() == {"deliveryInfoNotification": report}]
        assert dr_post.headers["x-wanode-dr-id"] == f"{transid}:clicked:{info['clickId']}"

        [event_post] = [r for r in hook.requests if r.path == "/events"]
        event = event_post.json()
        assert event_post.headers["x-wanode-event"] == "clicked"
        assert event["event"] == "clicked"
        assert (event["transid"], event["waid"], event["appId"]) == (transid, HANDSET, wn.app_id)
        assert (event["url"], event["tid"]) == (TARGET, info["clickId"])

        # A second click is a click of its own; the other link has none.
        assert (await wn.client.get(f"/l/{codes[0]}")).status_code == 302
        await hook.wait_for(len(hook.requests) + 2)
        shown = await wn.client.get(f"/v1/messages/{transid}/links")
        assert shown.status_code == 200, shown.text
        counts = {link["code"]: link["clicks"] for link in shown.json()["links"]}
        assert counts == {codes[0]: 2, codes[1]: 0}


async def test_a_redirect_reads_at_most_once_and_writes_nothing(db: Database) -> None:
    """The click is queued: its request runs one read (none once the link is cached), and the
    click's INSERT runs in the click writer's task, not in the request's."""
    statements: list[tuple[str, str]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        task = asyncio.current_task()
        statements.append((task.get_name() if task else "", statement.split()[0].upper()))

    async with running(db, **LINKS) as wn:
        response = await wn.client.post(
            "/resources/v1/messaging", json=messaging(wn, text(f"See {TARGET}"), options=OPTIONS)
        )
        transid = response.json()["response"][0]["transid"]
        await wn.wait_status(transid, "read")
        [code] = SHORT.findall((await inbox(wn))[0]["text"])
        request_task = asyncio.current_task()
        assert request_task is not None
        sa.event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
        try:
            first = await wn.client.get(f"/l/{code}")
            in_first = [verb for task, verb in statements if task == request_task.get_name()]
            second = await wn.client.get(f"/l/{code}")
            await wn.ctx.engine.clicks.drain()
        finally:
            sa.event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
        assert first.status_code == second.status_code == 302
        assert in_first == ["SELECT"]
        assert [verb for task, verb in statements if task == request_task.get_name()] == ["SELECT"]
        assert ("wanode-click-writer", "INSERT") in statements
        async with db.begin() as conn:
            count = sa.select(sa.func.count()).select_from(link_clicks)
            assert (await conn.execute(count)).scalar() == 2


async def test_a_redirect_is_not_held_back_by_a_blocked_click_write(
    postgres_available: None, tmp_path: Path
) -> None:
    """PostgreSQL, where another transaction can lock the clicks' table: while it does, the
    redirect still answers, and its click is written once the lock is gone."""
    db, _url, schema = await make_database("postgresql", tmp_path)
    try:
        async with running(db, **LINKS) as wn:
            response = await wn.client.post(
                "/resources/v1/messaging",
                json=messaging(wn, text(f"See {TARGET}"), options=OPTIONS),
            )
            transid = response.json()["response"][0]["transid"]
            await wn.wait_status(transid, "read")
            [code] = SHORT.findall((await inbox(wn))[0]["text"])
            async with db.engine.connect() as other:
                await other.execute(sa.text("LOCK TABLE link_clicks IN ACCESS EXCLUSIVE MODE"))
                click = await asyncio.wait_for(wn.client.get(f"/l/{code}"), timeout=30)
                assert (click.status_code, click.headers["location"]) == (302, TARGET)
                await asyncio.sleep(0.2)
                assert await other.scalar(sa.select(sa.func.count()).select_from(link_clicks)) == 0
                await other.rollback()
            await wn.ctx.engine.clicks.drain()
            async with db.begin() as conn:
                count = sa.select(sa.func.count()).select_from(link_clicks)
                assert (await conn.execute(count)).scalar() == 1
    finally:
        await db.dispose()
        if schema:
            await drop_schema(schema)


async def test_unknown_and_expired_codes_answer_404(db: Database) -> None:
    clock = Skewed()
    async with running(db, clock=clock, **LINKS) as wn:
        response = await wn.client.post(
            "/resources/v1/messaging",
            json=messaging(
                wn,
                text(f"See {TARGET}"),
                options={**OPTIONS, "trackClicks": False, "shortenLinks": True},
            ),
        )
        transid = response.json()["response"][0]["transid"]
        await wn.wait_status(transid, "read")
        [code] = SHORT.findall((await inbox(wn))[0]["text"])

        assert (await wn.client.get("/l/AAAAAAAAAAAA")).status_code == 404
        assert (await wn.client.get("/l/not a code")).status_code == 404
        head = await wn.client.head(f"/l/{code}")
        assert head.status_code == 302 and head.headers["location"] == TARGET
        assert (await wn.client.get(f"/l/{code}")).status_code == 302

        clock.skew = 181 * 24 * 3600
        assert (await wn.client.get(f"/l/{code}")).status_code == 404
        await wn.ctx.engine.clicks.drain()
        async with db.begin() as conn:
            clicks = (await conn.execute(sa.select(link_clicks.c.code))).scalars().all()
            link = (await conn.execute(sa.select(short_links))).mappings().one()
        # The HEAD and the expired GET are no clicks; shortenLinks alone counts, reports none.
        assert clicks == [code]
        assert link["track"] is False
        assert link["expires_at"] - link["created_at"] == pytest.approx(180 * 24 * 3600)


async def test_options_are_checked_before_anything_is_queued(db: Database) -> None:
    async with running(db, **LINKS) as wn:
        cases: list[tuple[dict[str, Any], dict[str, Any], str, str]] = [
            (text(TARGET), {"trackClicks": True}, "7003", "options.domain"),
            (text(TARGET), {"domain": "evil.example"}, "7004", "options.domain"),
            (text(TARGET), {"domain": DOMAIN, "trackClicks": "yes"}, "7004", "options.trackClicks"),
            (text(TARGET), {"domain": DOMAIN, "clicks": True}, "7004", "options.clicks"),
            (text(TARGET), [DOMAIN], "7004", "options"),
            (
                text("https://a.example/" + "x" * 4080 + " https://b.example/"),
                {"domain": DOMAIN, "trackClicks": True},
                "7004",
                "channels.OTT-Messaging.wa.text.body",
            ),
        ]
        for wa, options, code, field in cases:
            response = await wn.client.post(
                "/resources/v1/messaging", json=messaging(wn, wa, options=options)
            )
            assert response.status_code == 400, (options, response.text)
            error = response.json()["response"]
            assert (error["code"], error["field"]) == (code, field), (options, error)
        async with db.begin() as conn:
            assert (
                await conn.execute(sa.select(sa.func.count()).select_from(short_links))
            ).scalar() == 0


async def test_fallback_sends_the_original_urls_when_short_links_do_not_fit(db: Database) -> None:
    body = "x" * 4000 + " https://a.example/1 https://b.example/2 https://c.example/3"
    async with running(db, **LINKS) as wn:
        response = await wn.client.post(
            "/resources/v1/messaging",
            json=messaging(
                wn,
                text(body),
                options={"domain": DOMAIN, "trackClicks": True, "allowFallbackURL": True},
            ),
        )
        assert response.status_code == 200, response.text
        await wn.wait_status(response.json()["response"][0]["transid"], "read")
        [sent] = await inbox(wn)
        assert sent["text"] == body


async def test_the_native_api_and_a_second_domain(db: Database) -> None:
    async with running(db, **LINKS) as wn:
        response = await wn.client.post(
            "/v1/messages",
            json={
                "appid": wn.app_id,
                "to": HANDSET,
                "type": "text",
                "text": {"body": f"Track it: {TARGET}"},
                "options": {"domain": "https://links.example.test", "trackClicks": True},
            },
        )
        assert response.status_code == 202, response.text
        await wn.wait_status(response.json()["transid"], "read")
        [sent] = await inbox(wn)
        found = re.fullmatch(
            r"Track it: https://links\.example\.test/l/([A-Za-z0-9_-]{12})", sent["text"]
        )
        assert found is not None, sent["text"]
        click = await wn.client.get(f"/l/{found.group(1)}")
        assert (click.status_code, click.headers["location"]) == (302, TARGET)


async def test_without_configured_domains_the_public_url_is_the_domain(db: Database) -> None:
    async with running(db, public_url="https://wanode.example.org") as wn:
        refused = await wn.client.post(
            "/resources/v1/messaging",
            json=messaging(wn, text(TARGET), options={"domain": DOMAIN, "trackClicks": True}),
        )
        assert refused.json()["response"]["field"] == "options.domain"
        response = await wn.client.post(
            "/resources/v1/messaging",
            json=messaging(
                wn, text(TARGET), options={"domain": "wanode.example.org", "trackClicks": True}
            ),
        )
        assert response.status_code == 200, response.text
        await wn.wait_status(response.json()["response"][0]["transid"], "read")
        [sent] = await inbox(wn)
        assert re.fullmatch(r"https://wanode\.example\.org/l/[A-Za-z0-9_-]{12}", sent["text"])


async def test_each_destination_gets_codes_of_its_own(db: Database) -> None:
    numbers = ["4915100000001", "4915100000002"]
    async with running(db, **LINKS) as wn:
        payload = messaging(wn, text(f"Hi {TARGET}"), options=OPTIONS)
        payload["destination"] = [{"waid": numbers}]
        response = await wn.client.post("/resources/v1/messaging", json=payload)
        items = response.json()["response"]
        for item in items:
            await wn.wait_status(item["transid"], "read")
        codes = [SHORT.findall((await inbox(wn, n))[0]["text"]) for n in numbers]
        assert all(len(c) == 1 for c in codes) and codes[0] != codes[1]
        async with db.begin() as conn:
            rows = (await conn.execute(sa.select(short_links.c.code, short_links.c.transid))).all()
        assert {(code, transid) for code, transid in rows} == {
            (codes[0][0], items[0]["transid"]),
            (codes[1][0], items[1]["transid"]),
        }


TEMPLATE: dict[str, Any] = {
    "name": "spring_sale",
    "language": "en_US",
    "category": "MARKETING",
    "components": [
        {"type": "BODY", "text": "Our spring sale is on."},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Shop now",
                    "url": BASE + "{{1}}",
                    "example": [BASE + "AbCdEfGhIjKl"],
                },
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550001111"},
            ],
        },
    ],
}


async def test_a_template_url_button_on_the_short_link_base(db: Database) -> None:
    async with receiver() as hook, running(db, **LINKS) as wn:
        fast_review(wn)
        template_id = await approved(wn, TEMPLATE)
        parameters = {"url_0": {"type": "url", "payload": TARGET}}
        response = await wn.client.post(
            "/resources/v1/messaging",
            json={
                "appid": wn.app_id,
                "deliverychannel": "whatsapp",
                "destination": [{"waid": [HANDSET]}],
                "message": {"template": template_id, "parameters": parameters},
                "notifyurl": f"{hook.url}/dr",
                "options": OPTIONS,
            },
        )
        assert response.status_code == 200, response.text
        transid = response.json()["response"][0]["transid"]
        await wn.wait_status(transid, "read")
        async with db.begin() as conn:
            row = await outbox.get(conn, transid)
        assert row is not None
        buttons = [c for c in row["payload"]["template"]["components"] if c["type"] == "button"]
        [shop] = [b["parameters"][0]["text"] for b in buttons if b["sub_type"] == "url"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{12}", shop)
        [entry] = await inbox(wn)
        assert entry["template"]["buttons"][0]["url"] == BASE + shop

        click = await wn.client.get(f"/l/{shop}")
        assert (click.status_code, click.headers["location"]) == (302, TARGET)
        reports = await hook.wait_for(4)
        statuses = [r.json()["deliveryInfoNotification"]["deliveryInfo"] for r in reports]
        [clicked] = [s for s in statuses if s["deliveryStatus"] == "Clicked"]
        assert (clicked["url"], clicked["shortUrl"]) == (TARGET, BASE + shop)


async def test_a_flow_send_node_with_options(db: Database) -> None:
    doc = {
        "id": "promo",
        "variables": {"phone": HANDSET, "campaign": "spring"},
        "nodes": {
            "n1": {"type": "start", "on": {"onStart": "n2"}},
            "n2": {
                "type": "whatsapp",
                "destination": "$(phone)",
                "wa": {"type": "text", "text": {"body": f"Sale: {TARGET}"}},
                "options": {"domain": DOMAIN, "trackClicks": True, "tag1": "$(campaign)"},
                "on": {"onSuccess": "n3", "onError": "n3"},
            },
            "n3": {"type": "end"},
        },
    }
    async with running(db, **LINKS) as wn:
        deployed = await wn.client.post("/v1/flows", json=doc)
        assert deployed.status_code == 201, deployed.text
        started = await wn.client.post("/v1/flows/promo/runs", json={"variables": {}})
        assert started.status_code == 201, started.text
        sent = await wait_until(
            lambda: inbox(wn), lambda m: len(m) == 1, timeout=10, what="the flow's message"
        )
        [code] = SHORT.findall(sent[0]["text"])
        async with db.begin() as conn:
            link = await short_links_store.get(conn, code)
        assert link is not None
        assert (link["url"], link["tag1"], link["track"]) == (TARGET, "spring", True)

        doc["id"] = "bad_promo"
        doc["nodes"]["n2"]["options"] = {"domain": "evil.example", "trackClicks": True}
        deployed = await wn.client.post("/v1/flows", json=doc)
        assert deployed.status_code == 201, deployed.text
        started = await wn.client.post("/v1/flows/bad_promo/runs", json={"variables": {}})
        run = started.json()
        done = await wait_until(
            lambda: wn.client.get(f"/v1/flows/bad_promo/runs/{run['id']}"),
            lambda r: r.json()["status"] != "waiting",
            timeout=10,
            what="the refused send",
        )
        out = done.json()["outputs"]["n2"]
        [refusal] = out["send.response_data"]
        assert (refusal["code"], refusal["field"]) == ("7004", "options.domain")
