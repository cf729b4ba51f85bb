"""Notify-URL auth profiles (`notifyurlAuthId`) and signed DRs (`x-hub-signature`), on SQLite
and PostgreSQL, against real receivers on loopback that demand what they demand."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.integration.test_app_keys import tenants
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import Received, free_port, serve_app

from wanode.store import Database, notify_auth
from wanode.store import apps as app_queries
from wanode.store.keyring import PREFIX, Keyring
from wanode.store.tables import apps, notify_auth_profiles

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"
CODES = ["7501", "7500", "7502"]


@dataclass
class Guarded:
    """A notify URL that takes a DR only with the right `Authorization` (else 401), and an
    OAuth2 token endpoint (client credentials) beside it."""

    expected: str | None  # None: no Authorization at all
    port: int = field(default_factory=free_port)
    taken: list[Received] = field(default_factory=list)
    refused: int = 0
    tokens_issued: int = 0
    client: tuple[str, str] = ("wanode-client", "s3cret-client")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def dr(request: Request) -> Response:
            if request.headers.get("authorization") != self.expected:
                self.refused += 1
                return Response(status_code=401)
            self.taken.append(
                Received(request.url.path, dict(request.headers), await request.body())
            )
            return Response(status_code=200)

        async def token(request: Request) -> Response:
            form = await request.form()
            pair = base64.b64encode(":".join(self.client).encode()).decode()
            if (
                request.headers.get("authorization") != f"Basic {pair}"
                or form.get("grant_type") != "client_credentials"
            ):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            self.tokens_issued += 1
            return JSONResponse(
                {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}
            )

        return Starlette(
            routes=[Route("/dr", dr, methods=["POST"]), Route("/token", token, methods=["POST"])]
        )

    def codes(self) -> list[str]:
        return [r.json()["deliveryInfoNotification"]["deliveryInfo"]["code"] for r in self.taken]


@asynccontextmanager
async def guarded(expected: str | None) -> AsyncIterator[Guarded]:
    server = Guarded(expected)
    async with serve_app(server.app(), server.port):
        yield server


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def put_profile(wn: Harness, profile_id: str, kind: str, **params: str) -> dict[str, Any]:
    answer = await wn.client.put(
        f"/v1/notify-auth/{profile_id}",
        json={"appid": wn.app_id, "type": kind, "params": params},
    )
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


async def parked(wn: Harness) -> list[dict[str, Any]]:
    answer = await wn.client.get("/v1/delivery-reports", params={"state": "parked"})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["deliveryReports"])


async def test_a_notify_url_that_demands_basic_auth_gets_it(db: Database) -> None:
    async with guarded(basic("acme", "pa55word")) as receiver, running(db) as wn:
        created = await put_profile(wn, "acme-basic", "basic", username="acme", password="pa55word")
        assert created["params"] == {"username": "acme", "password": "********"}
        await wn.send_text(
            HANDSET, "hi", notifyurl=f"{receiver.url}/dr", notifyurlAuthId="acme-basic"
        )
        await wait_until(
            lambda: _async(receiver.codes()), lambda c: c == CODES, timeout=20, what="3 DRs"
        )
        assert receiver.refused == 0


async def test_an_oauth2_token_is_fetched_once_and_used(db: Database) -> None:
    async with guarded("Bearer tok-1") as receiver, running(db) as wn:
        await put_profile(
            wn,
            "acme-oauth",
            "oauth2",
            token_url=f"{receiver.url}/token",
            client_id=receiver.client[0],
            client_secret=receiver.client[1],
        )
        for text in ("one", "two"):
            await wn.send_text(
                HANDSET, text, notifyurl=f"{receiver.url}/dr", notifyurlAuthId="acme-oauth"
            )
        await wait_until(
            lambda: _async(len(receiver.taken)), lambda n: n == 6, timeout=20, what="6 DRs"
        )
        assert receiver.refused == 0
        assert receiver.tokens_issued == 1


async def test_a_dr_for_a_missing_or_deleted_profile_is_parked_then_delivered(
    db: Database,
) -> None:
    async with guarded("Bearer abc") as receiver, running(db) as wn:
        await put_profile(wn, "rotating", "bearer", token="abc")
        assert (await wn.client.delete("/v1/notify-auth/rotating")).status_code == 204
        assert (await wn.client.get("/v1/notify-auth/rotating")).status_code == 404
        sent = await wn.send_text(
            HANDSET, "hi", notifyurl=f"{receiver.url}/dr", notifyurlAuthId="rotating"
        )
        transid = sent.json()["response"][0]["transid"]
        held = await wait_until(
            lambda: parked(wn), lambda rows: len(rows) == 3, timeout=20, what="3 parked DRs"
        )
        assert {(r["transid"], r["notifyurlAuthId"], r["state"]) for r in held} == {
            (transid, "rotating", "parked")
        }
        assert receiver.taken == [] and receiver.refused == 0  # never posted without it

        recreated = await put_profile(wn, "rotating", "bearer", token="abc")
        assert recreated["released"] == 3
        await wait_until(
            lambda: _async(receiver.codes()), lambda c: c == CODES, timeout=20, what="3 DRs"
        )
        assert await parked(wn) == []


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
async def test_drs_are_signed_with_the_apps_notify_secret(db: Database, algorithm: str) -> None:
    secret = "a-notify-secret-of-some-length"
    async with guarded(None) as receiver, running(db) as wn:
        changed = await wn.client.patch(
            f"/v1/apps/{wn.app_id}",
            json={"notify_signing": algorithm, "notify_secret": secret},
        )
        assert changed.status_code == 200, changed.text
        shown = changed.json()
        assert shown["notify_signing"] == algorithm and shown["notify_secret_set"] is True
        assert "notify_secret" not in shown
        await wn.send_text(HANDSET, "hi", notifyurl=f"{receiver.url}/dr")
        await wait_until(
            lambda: _async(receiver.codes()), lambda c: c == CODES, timeout=20, what="3 DRs"
        )
        digest = getattr(hashlib, algorithm)
        for dr in receiver.taken:
            expected = hmac.new(secret.encode(), dr.body, digest).hexdigest()
            assert dr.headers["x-hub-signature"] == f"{algorithm}={expected}"


async def test_profiles_and_signing_are_checked(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        cases = [
            ("x", {"appid": wn.app_id, "type": "magic", "params": {}}, "type"),
            (
                "x",
                {"appid": wn.app_id, "type": "basic", "params": {"username": "u"}},
                "params.password",
            ),
            (
                "x",
                {"appid": wn.app_id, "type": "header", "params": {"name": "Host", "value": "v"}},
                "params.name",
            ),
            (
                "x",
                {"appid": wn.app_id, "type": "bearer", "params": {"token": "a\r\nb"}},
                "params.token",
            ),
        ]
        for profile_id, body, field_name in cases:
            answer = await wn.client.put(f"/v1/notify-auth/{profile_id}", json=body)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["field"] == field_name, answer.text
        bad_id = await wn.client.put(
            "/v1/notify-auth/has%20space",
            json={"appid": wn.app_id, "type": "bearer", "params": {"token": "t"}},
        )
        assert bad_id.status_code in (400, 404, 422), bad_id.text
        unsigned = await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"notify_signing": "sha256"})
        assert unsigned.status_code == 400, unsigned.text
        assert unsigned.json()["error"]["field"] == "notify_secret"
        bad_send = await wn.send_text(HANDSET, "hi", notifyurlAuthId="no spaces allowed")
        assert bad_send.status_code == 400, bad_send.text


async def test_an_apps_key_sees_and_writes_its_own_profiles_only(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, b = await tenants(wn)
        made = await wn.client.put(
            "/v1/notify-auth/of-a",
            json={"appid": a.app_id, "type": "bearer", "params": {"token": "t"}},
            headers={"key": a.key},
        )
        assert made.status_code == 201, made.text
        as_b = {"key": b.key}
        assert (await wn.client.get("/v1/notify-auth/of-a", headers=as_b)).status_code == 404
        assert (await wn.client.delete("/v1/notify-auth/of-a", headers=as_b)).status_code == 404
        listed = await wn.client.get("/v1/notify-auth", headers=as_b)
        assert listed.json() == {"profiles": []}
        stolen = await wn.client.put(
            "/v1/notify-auth/of-a",
            json={"appid": a.app_id, "type": "bearer", "params": {"token": "mine"}},
            headers=as_b,
        )
        assert stolen.status_code == 403, stolen.text
        taken = await wn.client.put(
            "/v1/notify-auth/of-a",
            json={"appid": b.app_id, "type": "bearer", "params": {"token": "mine"}},
            headers=as_b,
        )
        assert taken.status_code == 409, taken.text
        mine = await wn.client.get("/v1/notify-auth", headers={"key": a.key})
        assert [p["id"] for p in mine.json()["profiles"]] == ["of-a"]


async def test_profile_secrets_and_the_notify_secret_are_sealed_at_rest(tmp_path: Path) -> None:
    db = Database(
        f"sqlite+aiosqlite:///{tmp_path}/w.db", keyring=Keyring([Fernet.generate_key().decode()])
    )
    await db.migrate()
    try:
        async with db.begin() as conn:
            app = await app_queries.create_app(
                conn,
                name="A",
                phone_number_id="1065",
                waba_id="1022",
                display_phone_number="1065",
                access_token="tok",
                app_secret="sec",
                verify_token="ver",
                gateway="sandbox",
                notify_signing="sha256",
                notify_secret="the-notify-secret-itself",
            )
            await notify_auth.put(
                conn,
                profile_id="p",
                app_id=app["id"],
                kind="basic",
                params={"username": "acme", "password": "pa55word"},
                at=1.0,
            )
        async with db.begin() as conn:
            raw_secrets = (
                await conn.execute(sa.select(notify_auth_profiles.c.secrets))
            ).scalar_one()
            raw_notify = (await conn.execute(sa.select(apps.c.notify_secret))).scalar_one()
            profile = await notify_auth.get(conn, "p")
            opened = await app_queries.get_app(conn, app["id"])
        assert raw_secrets.startswith(PREFIX) and "pa55word" not in raw_secrets
        assert raw_notify.startswith(PREFIX) and "the-notify-secret-itself" not in raw_notify
        assert profile is not None and profile.params == {
            "username": "acme",
            "password": "pa55word",
        }
        assert opened is not None and opened["notify_secret"] == "the-notify-secret-itself"
    finally:
        await db.dispose()


async def _async(value: Any) -> Any:
    return value


async def test_a_flows_whatsapp_node_posts_its_drs_with_its_profile(db: Database) -> None:
    async with guarded("Bearer flow-token") as receiver, running(db) as wn:
        await put_profile(wn, "flow-bearer", "bearer", token="flow-token")
        flow = {
            "id": "authed",
            "variables": {"phone": ""},
            "nodes": {
                "n1": {"type": "start", "on": {"onStart": "n2"}},
                "n2": {
                    "type": "whatsapp",
                    "destination": "$(phone)",
                    "wa": {"type": "text", "text": {"body": "hello"}},
                    "notify_url": f"{receiver.url}/dr",
                    "notify_auth_id": "flow-bearer",
                    "on": {"onSuccess": "n3"},
                },
                "n3": {"type": "end"},
            },
        }
        deployed = await wn.client.post("/v1/flows", json=flow)
        assert deployed.status_code == 201, deployed.text
        started = await wn.client.post(
            "/v1/flows/authed/runs", json={"variables": {"phone": HANDSET}}
        )
        assert started.status_code == 201, started.text
        await wait_until(
            lambda: _async(receiver.codes()), lambda c: c == CODES, timeout=20, what="3 DRs"
        )
        assert receiver.refused == 0
