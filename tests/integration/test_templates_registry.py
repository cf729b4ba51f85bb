"""The template registry: status webhooks, the periodic sync (with the in-memory gateway and a
clock of our own), the sync and management endpoints against the sandbox, and creation refused
before anything reaches WhatsApp."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.test_templates import (
    ORDER,
    ORDER_PARAMETERS,
    approved,
    create,
    fast_review,
    send_webex,
    template,
)
from tests.support.harness import Harness, fast_settings, running, wait_until

from wanode.cli.bootstrap import ensure_defaults
from wanode.engine import Engine, Gateways
from wanode.gateway import Credentials, Gateway, GatewayError, MemoryGateway, Rejected
from wanode.store import Database
from wanode.store import templates as registry

pytestmark = pytest.mark.asyncio

FIXTURE = (
    Path(__file__).parents[1] / "fixtures/webhooks/outside_openapi/template_status_update.json"
)


class Fixed(Gateways):
    def __init__(self, gateway: Gateway, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = gateway

    def for_app(self, app: dict[str, Any]) -> Gateway:
        return self.gateway


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def graph(template_id: str, name: str, status: str = "APPROVED", **extra: Any) -> dict[str, Any]:
    return {
        "id": template_id,
        "name": name,
        "language": "en_US",
        "status": status,
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hello {{1}}"}],
        **extra,
    }


async def rows(db: Database) -> dict[str, dict[str, Any]]:
    async with db.begin() as conn:
        return {row["id"]: row for row in await registry.list_templates(conn)}


def status_webhook(waba_id: str, template_id: str, event: str, **value: Any) -> dict[str, Any]:
    body = json.loads(FIXTURE.read_text())
    body["entry"][0]["id"] = waba_id
    change = body["entry"][0]["changes"][0]["value"]
    change.update(message_template_id=int(template_id), event=event, **value)
    return body


async def post_signed(wn: Harness, body: dict[str, Any]) -> httpx.Response:
    raw = json.dumps(body).encode()
    secret = wn.app["app_secret"].encode()
    signature = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
    return await wn.client.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )


async def graph_call(wn: Harness, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A Graph call straight to the sandbox with the app's token, bypassing wanode."""
    headers = {"Authorization": f"Bearer {wn.app['access_token']}"}
    return await wn.client.request(method, f"/sandbox/v23.0/{path}", headers=headers, **kwargs)


# -- the periodic sync -------------------------------------------------------------------------


async def test_the_periodic_sync_upserts_and_marks_gone_templates_deleted(db: Database) -> None:
    clock = Clock()
    memory = MemoryGateway()
    memory.templates = {"1001": graph("1001", "welcome"), "1002": graph("1002", "receipt")}
    settings = fast_settings(db, template_sync_interval=60)
    engine = Engine(db, settings, Fixed(memory, settings), clock=clock)
    app = (await ensure_defaults(db, gateway="cloud")).app

    assert await engine.templates.run_once() == 2
    first = await rows(db)
    assert {r["name"]: r["status"] for r in first.values()} == {
        "welcome": "APPROVED",
        "receipt": "APPROVED",
    }
    assert {r["app_id"] for r in first.values()} == {app["id"]}
    assert first["1001"]["definition"]["components"] == [{"type": "BODY", "text": "Hello {{1}}"}]

    clock.now += 30
    assert await engine.templates.run_once() == 0
    assert [call for call, _ in memory.template_calls] == ["list"]

    del memory.templates["1002"]
    memory.templates["1001"]["status"] = "PAUSED"
    memory.templates["1003"] = graph("1003", "promo", status="REJECTED", rejected_reason="SCAM")
    clock.now += 31
    assert await engine.templates.run_once() == 3
    after = await rows(db)
    assert {tid: r["status"] for tid, r in after.items()} == {
        "1001": "PAUSED",
        "1002": "DELETED",
        "1003": "REJECTED",
    }
    assert after["1003"]["rejected_reason"] == "SCAM"
    assert after["1002"]["updated_at"] == clock.now


async def test_an_interval_of_zero_turns_the_periodic_sync_off(db: Database) -> None:
    memory = MemoryGateway()
    memory.templates = {"1001": graph("1001", "welcome")}
    settings = fast_settings(db, template_sync_interval=0)
    engine = Engine(db, settings, Fixed(memory, settings), clock=Clock())
    await ensure_defaults(db, gateway="cloud")

    assert await engine.templates.run_once() == 0
    assert memory.template_calls == [] and await rows(db) == {}
    [report] = await engine.templates.sync()
    assert (report.listed, report.created, report.error) == (1, 1, None)


async def test_a_sync_failure_is_reported_and_changes_nothing(db: Database) -> None:
    memory = MemoryGateway()
    memory.templates = {"1001": graph("1001", "welcome")}
    settings = fast_settings(db)
    engine = Engine(db, settings, Fixed(memory, settings), clock=Clock())
    await ensure_defaults(db, gateway="cloud")
    await engine.templates.sync()

    memory.templates.clear()
    memory.template_script.append(Rejected(190, "Access token has expired", "", 401, False))
    [refused] = await engine.templates.sync()
    memory.template_script.append(GatewayError("refused"))
    [unreachable] = await engine.templates.sync()

    assert refused.error == "(190) Access token has expired: "
    assert unreachable.error == "refused"
    assert (await rows(db))["1001"]["status"] == "APPROVED"


class Racing(MemoryGateway):
    """Lists a stale status, after a webhook has already moved the template on."""

    db: Database | None = None

    async def list_templates(self, creds: Credentials) -> list[dict[str, Any]]:
        listed = await super().list_templates(creds)
        assert self.db is not None
        async with self.db.begin() as conn:
            await registry.set_status(conn, "1001", status="PAUSED", reason=None, now=2000.0)
        return listed


async def test_a_sync_never_undoes_what_changed_after_it_began(db: Database) -> None:
    racing = Racing()
    racing.db = db
    racing.templates = {"1001": graph("1001", "welcome")}
    clock = Clock()
    settings = fast_settings(db)
    engine = Engine(db, settings, Fixed(racing, settings), clock=clock)
    app = (await ensure_defaults(db, gateway="cloud")).app
    async with db.begin() as conn:
        await registry.upsert(
            conn,
            app_id=app["id"],
            waba_id=app["waba_id"],
            template_id="1001",
            values={
                "name": "welcome",
                "language": "en_US",
                "category": "UTILITY",
                "parameter_format": "POSITIONAL",
                "status": "APPROVED",
                "rejected_reason": None,
                "quality": None,
            },
            graph=graph("1001", "welcome"),
            now=900.0,
        )
    racing.templates.clear()  # also gone from the list: still not marked DELETED

    [report] = await engine.templates.sync()

    assert (report.updated, report.deleted) == (0, 0)
    assert (await rows(db))["1001"]["status"] == "PAUSED"


async def test_a_sync_holds_the_row_from_its_check_to_its_write(db: Database) -> None:
    """The check (changed since the sync began?) and the write are one step for a status
    webhook: on PostgreSQL one committed between them was overwritten by the sync's older
    listing (a template approved, then PENDING again). So the check locks the row: a status
    change waits until the sync's transaction ends, then applies."""
    app = (await ensure_defaults(db, gateway="cloud")).app
    values = {
        "name": "welcome",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "status": "PENDING",
        "rejected_reason": None,
        "quality": None,
    }
    row = {"app_id": app["id"], "waba_id": app["waba_id"], "template_id": "1001"}
    async with db.begin() as conn:
        await registry.upsert(conn, **row, values=values, graph=graph("1001", "welcome"), now=900.0)

    checked = asyncio.Event()

    async def approve() -> bool:
        await checked.wait()
        async with db.begin() as conn:
            return await registry.set_status(
                conn, "1001", status="APPROVED", reason=None, now=1000.0
            )

    # Started outside the sync's transaction, as the webhook's would be.
    approving = asyncio.create_task(approve())
    async with db.begin() as conn:
        # A sync that began before the row's last change: it checks, and leaves the row be.
        outcome = await registry.upsert(
            conn, **row, values=values, graph=graph("1001", "welcome"), now=950.0, since=800.0
        )
        assert outcome == "skipped"
        checked.set()
        await asyncio.sleep(0.3)
        assert not approving.done()  # held until the sync's transaction ends
    assert await approving is True
    assert (await rows(db))["1001"]["status"] == "APPROVED"


async def test_a_name_used_again_replaces_the_deleted_template(db: Database) -> None:
    memory = MemoryGateway()
    memory.templates = {"1001": graph("1001", "welcome")}
    clock = Clock()
    settings = fast_settings(db)
    engine = Engine(db, settings, Fixed(memory, settings), clock=clock)
    await ensure_defaults(db, gateway="cloud")
    await engine.templates.sync()
    memory.templates = {}
    clock.now += 1
    await engine.templates.sync()
    assert (await rows(db))["1001"]["status"] == "DELETED"

    memory.templates = {"1009": graph("1009", "welcome", status="PENDING")}
    clock.now += 1
    await engine.templates.sync()

    assert {tid: r["status"] for tid, r in (await rows(db)).items()} == {"1009": "PENDING"}


# -- status webhooks ---------------------------------------------------------------------------


async def test_status_webhooks_update_the_registry(db: Database) -> None:
    async with running(db, template_sync_interval=0) as wn:
        fast_review(wn)
        template_id = await approved(wn, ORDER)
        waba_id = wn.app["waba_id"]

        for event, value, status, reason in (
            ("PAUSED", {"other_info": {"title": "FIRST_PAUSE"}}, "PAUSED", None),
            ("REINSTATED", {}, "APPROVED", None),
            ("FLAGGED", {}, "APPROVED", None),
            ("REJECTED", {"reason": "INCORRECT_CATEGORY"}, "REJECTED", "INCORRECT_CATEGORY"),
            ("SOMETHING_NEW", {}, "REJECTED", "INCORRECT_CATEGORY"),
            ("DISABLED", {"disable_info": {"disable_date": 1751247548}}, "DISABLED", None),
        ):
            body = status_webhook(waba_id, template_id, event, **value)
            response = await post_signed(wn, body)
            assert response.status_code == 200, response.text
            shown = await template(wn, template_id)
            assert (shown["status"], shown["rejected_reason"]) == (status, reason), event


async def test_a_status_webhook_of_another_waba_changes_nothing(db: Database) -> None:
    async with running(db, template_sync_interval=0) as wn:
        fast_review(wn)
        template_id = await approved(wn, ORDER)

        response = await post_signed(wn, status_webhook("999999", template_id, "PAUSED"))

        assert response.json() == {"received": 0}
        assert (await template(wn, template_id))["status"] == "APPROVED"


async def test_a_webhook_for_an_unknown_template_fetches_it(db: Database) -> None:
    """A template created outside wanode: its approval webhook is the first wanode hears of it;
    the registry keeps a stub, and the template loop fetches the definition at once (the
    periodic sync is off here)."""
    async with running(db, template_sync_interval=0) as wn:
        fast_review(wn)
        body = {**copy.deepcopy(ORDER), "name": "made_elsewhere"}
        created = await graph_call(wn, "POST", f"{wn.app['waba_id']}/message_templates", json=body)
        assert created.status_code == 200, created.text
        template_id = created.json()["id"]

        fetched = await wait_until(
            lambda: wn.client.get(f"/v1/templates/{template_id}"),
            lambda r: r.status_code == 200 and r.json()["synced_at"] is not None,
            timeout=10,
            what="the template to be fetched",
        )

        shown = fetched.json()
        assert (shown["name"], shown["status"]) == ("made_elsewhere", "APPROVED")
        assert shown["parameters"] == ["headerText", "1", "2", "quickReply"]
        response = await send_webex(wn, template_id, ORDER_PARAMETERS)
        assert response.status_code == 200, response.text


async def test_a_stub_is_not_sendable_until_its_definition_is_fetched(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        body = status_webhook(wn.app["waba_id"], "1689556908129832", "APPROVED")
        assert (await post_signed(wn, body)).json() == {"received": 1}

        stub = await template(wn, "1689556908129832")
        assert (stub["status"], stub["synced_at"], stub["parameters"]) == ("APPROVED", None, None)
        refused = await send_webex(wn, "1689556908129832", {})
        assert refused.json()["response"]["code"] == "7108"
        # The sandbox has no such template: the fetch finds it gone.
        assert await wn.ctx.engine.templates.fetch_stubs() == 1
        assert (await template(wn, "1689556908129832"))["status"] == "DELETED"


# -- the management endpoints ------------------------------------------------------------------


async def test_sync_list_filter_and_delete_through_the_api(db: Database) -> None:
    async with running(db, template_sync_interval=0) as wn:
        fast_review(wn)
        waba_id = wn.app["waba_id"]
        order_id = await approved(wn, ORDER)
        body = {**copy.deepcopy(ORDER), "name": "reject_elsewhere", "language": "de"}
        await graph_call(wn, "POST", f"{waba_id}/message_templates", json=body)

        synced = await wn.client.post("/v1/templates/sync", json={"appid": wn.app_id})
        assert synced.status_code == 200, synced.text
        [report] = synced.json()["synced"]
        assert (report["waba_id"], report["appid"], report["error"]) == (
            waba_id,
            wn.app_id,
            None,
        )
        assert report["listed"] == 3  # with the sandbox's sample, hello_world

        listed = await wn.client.get("/v1/templates", params={"appid": wn.app_id})
        names = {(t["name"], t["language"]) for t in listed.json()["templates"]}
        assert names == {
            ("hello_world", "en_US"),
            ("order_update", "en_US"),
            ("reject_elsewhere", "de"),
        }
        pending = await wn.client.get("/v1/templates", params={"status": "pending,rejected"})
        assert [t["name"] for t in pending.json()["templates"]] == ["reject_elsewhere"]
        named = await wn.client.get(
            "/v1/templates", params={"name": "hello_world", "category": "MARKETING"}
        )
        assert [t["status"] for t in named.json()["templates"]] == ["APPROVED"]

        deleted = await wn.client.delete(f"/v1/templates/{order_id}")
        assert deleted.status_code == 204, deleted.text
        assert (await template(wn, order_id))["status"] == "DELETED"
        at_meta = await graph_call(wn, "GET", f"{waba_id}/message_templates")
        assert order_id not in [t["id"] for t in at_meta.json()["data"]]
        gone = await send_webex(wn, order_id, ORDER_PARAMETERS)
        assert gone.json()["response"]["code"] == "7805"
        again = await wn.client.delete(f"/v1/templates/{order_id}")
        assert again.status_code == 204

        unknown = await wn.client.get("/v1/templates/123")
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "7108")
        bad_app = await wn.client.get("/v1/templates", params={"appid": "a_0"})
        assert bad_app.json()["error"]["code"] == "7104"
        bad_sync = await wn.client.post("/v1/templates/sync", json={"appid": "a_0"})
        assert bad_sync.json()["error"]["code"] == "7104"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda b: b.pop("name"), "7003", "name"),
        (lambda b: b.update(name="Order Update"), "7004", "name"),
        (lambda b: b.update(category="PROMO"), "7004", "category"),
        (lambda b: b["components"].pop(1), "7003", "components"),
        (lambda b: b["components"][1].update(text="x" * 1025), "7004", "components[1].text"),
        (
            lambda b: b["components"][1]["example"].pop("body_text"),
            "7003",
            "components[1].example.body_text",
        ),
        (
            lambda b: (
                b["components"][3]["buttons"].append({"type": "QUICK_REPLY", "text": "More"})
                or b["components"][3]["buttons"].append({"type": "QUICK_REPLY", "text": "Less"})
            ),
            "7004",
            "components[3].buttons",
        ),
        (lambda b: b.update(status="APPROVED"), "7004", "status"),
    ],
)
async def test_a_template_breaking_the_rules_is_refused_before_whatsapp(
    db: Database, change: Any, code: str, field: str
) -> None:
    async with running(db, template_sync_interval=0) as wn:
        body = {"appid": wn.app_id, **copy.deepcopy(ORDER)}
        change(body)

        response = await wn.client.post("/v1/templates", json=body)

        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == (code, field), error
        at_meta = await graph_call(wn, "GET", f"{wn.app['waba_id']}/message_templates")
        assert [t["name"] for t in at_meta.json()["data"]] == ["hello_world"]


async def test_whatsapps_refusal_of_a_create_is_reported(db: Database) -> None:
    async with running(db, template_sync_interval=0) as wn:
        fast_review(wn, 30.0)
        await create(wn, ORDER)

        twice = await wn.client.post("/v1/templates", json={"appid": wn.app_id, **ORDER})

        assert twice.status_code == 400
        error = twice.json()["error"]
        assert (
            error["code"] == "7004" and "WhatsApp refused the template: (100)" in error["message"]
        )
        missing_app = await wn.client.post("/v1/templates", json=ORDER)
        assert missing_app.json()["error"]["code"] == "7003"


async def test_the_template_loop_syncs_at_start(db: Database) -> None:
    async with running(db) as wn:
        listed = await wait_until(
            lambda: wn.client.get("/v1/templates"),
            lambda r: bool(r.json()["templates"]),
            timeout=10,
            what="the first sync",
        )
        [sample] = listed.json()["templates"]
        assert (sample["name"], sample["status"], sample["parameters"]) == (
            "hello_world",
            "APPROVED",
            [],
        )
