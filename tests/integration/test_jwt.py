"""JWT authentication by the reference's rules (webex-connect.md §1), on SQLite and PostgreSQL:
a token signed as the reference says is accepted and acts for its app only; each bad one is
refused with 7001; a JWT wins over a key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import jwt
import orjson
import pytest
from tests.integration.test_app_keys import tenants
from tests.support.harness import Harness, running

from wanode.api.jwt_auth import make, new_service_secret
from wanode.store import Database
from wanode.store import apps as app_queries

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, object]) -> str:
    """`alg: none`, as an attacker would send it."""
    header = _b64(orjson.dumps({"alg": "none", "typ": "JWT"}))
    return f"{header}.{_b64(orjson.dumps(claims))}."


def hs256_by_hand(claims: dict[str, object], secret: str) -> str:
    """The reference's recipe without a JWT library: HS256 keyed with the base64-decoded
    service secret."""
    signing_input = (
        f"{_b64(orjson.dumps({'alg': 'HS256', 'typ': 'JWT'}))}.{_b64(orjson.dumps(claims))}"
    )
    key = base64.b64decode(secret)
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def with_secret(db: Database, app_id: str) -> str:
    secret = new_service_secret()
    async with db.begin() as conn:
        await app_queries.update_app(conn, app_id, service_secret=secret)
    return secret


def code_of(body: dict[str, Any]) -> str:
    """The Messaging API answers errors as `{"response": {"code": ...}}`."""
    return str(body["response"]["code"] if "response" in body else body["error"]["code"])


async def send(wn: Harness, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    answer = await wn.client.post(
        "/resources/v1/messaging",
        headers=headers,
        json={
            "appid": wn.app_id,
            "deliverychannel": "whatsapp",
            "destination": [{"waid": [HANDSET]}],
            "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": "hi"}}}},
        },
    )
    return answer.status_code, answer.json()


async def test_a_jwt_made_by_the_references_rules_is_accepted(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        secret = await with_secret(db, wn.app_id)
        token = hs256_by_hand({"iss": wn.app_id, "iat": int(time.time())}, secret)
        status, body = await send(wn, {"authorization": f"Bearer {token}", "key": ""})
        assert status == 200, body
        assert body["response"][0]["code"] == "1001"  # queued
        # PyJWT's token (what `wanode keys jwt` prints) too.
        status, _ = await send(wn, {"authorization": f"Bearer {make(wn.app_id, secret)}"})
        assert status == 200


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "future",
        "wrong_secret",
        "alg_none",
        "hs512",
        "no_iss",
        "no_iat",
        "unknown_iss",
        "garbage",
    ],
)
async def test_bad_jwts_are_refused_with_7001(db: Database, case: str) -> None:
    async with running(db, start_engine=False) as wn:
        secret = await with_secret(db, wn.app_id)
        now = int(time.time())
        key = base64.b64decode(secret)
        token = {
            "expired": lambda: make(wn.app_id, secret, now=now - 3700),
            "future": lambda: make(wn.app_id, secret, now=now + 600),
            "wrong_secret": lambda: make(wn.app_id, new_service_secret()),
            "alg_none": lambda: unsigned({"iss": wn.app_id, "iat": now}),
            "hs512": lambda: jwt.encode({"iss": wn.app_id, "iat": now}, key, algorithm="HS512"),
            "no_iss": lambda: jwt.encode({"iat": now}, key, algorithm="HS256"),
            "no_iat": lambda: jwt.encode({"iss": wn.app_id}, key, algorithm="HS256"),
            "unknown_iss": lambda: make("a_000000000000000000", secret),
            "garbage": lambda: "not.a.jwt",
        }[case]()
        status, body = await send(wn, {"authorization": f"Bearer {token}"})
        assert status == 401, body
        assert code_of(body) == "7001", body


async def test_an_app_without_a_service_secret_takes_no_jwt(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        token = make(wn.app_id, new_service_secret())
        status, body = await send(wn, {"authorization": f"Bearer {token}"})
        assert status == 401 and code_of(body) == "7001"


async def test_a_jwt_wins_over_a_key(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        secret = await with_secret(db, wn.app_id)
        bad = make(wn.app_id, new_service_secret())
        # A valid key does not rescue a bad JWT...
        status, _ = await send(wn, {"authorization": f"Bearer {bad}", "key": wn.key})
        assert status == 401
        # ...and a bad key does not spoil a good one.
        good = make(wn.app_id, secret)
        status, _ = await send(wn, {"authorization": f"Bearer {good}", "key": "wk_nonsense"})
        assert status == 200


async def test_a_jwt_acts_for_its_own_app_only(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        a, b = await tenants(wn)
        secret = await with_secret(db, b.app_id)
        as_b = {"authorization": f"Bearer {make(b.app_id, secret)}"}
        status, body = await send(wn, as_b)  # a send from app A
        assert status == 403 and code_of(body) == "7001"
        apps = await wn.client.get("/v1/apps", headers=as_b)
        assert [app["id"] for app in apps.json()["apps"]] == [b.app_id]
        assert (await wn.client.get(f"/v1/apps/{a.app_id}", headers=as_b)).status_code == 404
        keys = await wn.client.post("/v1/keys", json={"name": "x", "admin": True}, headers=as_b)
        assert keys.status_code == 403
