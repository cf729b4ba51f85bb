"""Request bodies are bounded in size and time on every route, chunked or not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
import pytest
from tests.integration.test_api_errors import body, count_messages, signed, status_webhook
from tests.support.bodies import Chunks
from tests.support.harness import running

from wanode.store import Database

pytestmark = pytest.mark.asyncio

LIMIT = 10_000


async def test_chunked_bodies_over_the_limit_are_refused_unread(db: Database) -> None:
    async with running(db, start_engine=False, max_request_bytes=LIMIT) as wn:
        raw = status_webhook(wn.app) + b" " * 1_000_000
        stream = Chunks(raw)
        response = await wn.client.post(
            "/webhooks/whatsapp",
            content=stream,
            headers={"x-hub-signature-256": signed(raw, wn.app["app_secret"])},
        )
        assert response.status_code == 413
        assert response.json() == {
            "error": {"code": "7004", "message": f"Request body over {LIMIT} bytes"}
        }
        assert response.headers["connection"] == "close"
        # One chunk past the limit was read, and none of the other 990.
        assert stream.pulled == LIMIT // 1000 + 1

        stream = Chunks(orjson.dumps(body(wn.app_id, callbackData="x" * 20_000)))
        response = await wn.client.post(
            "/resources/v1/messaging", content=stream, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["response"]["code"] == "7004"
        assert stream.pulled == LIMIT // 1000 + 1
        assert await count_messages(db) == 0


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(db: Database) -> None:
    async with running(db, start_engine=False, max_request_bytes=LIMIT) as wn:
        stream = Chunks(b"x" * (LIMIT + 1))
        response = await wn.client.post(
            "/webhooks/whatsapp", content=stream, headers={"content-length": str(LIMIT + 1)}
        )
        assert response.status_code == 413 and response.json()["error"]["code"] == "7004"
        assert stream.pulled == 0


async def test_chunked_bodies_under_the_limit_are_served(db: Database) -> None:
    async with running(db, start_engine=False, max_request_bytes=LIMIT) as wn:
        raw = status_webhook(wn.app)
        response = await wn.client.post(
            "/webhooks/whatsapp",
            content=Chunks(raw, size=100),
            headers={"x-hub-signature-256": signed(raw, wn.app["app_secret"])},
        )
        assert (response.status_code, response.json()) == (200, {"received": 1})

        request = orjson.dumps(body(wn.app_id, callbackData="x" * 5000))
        assert len(request) < LIMIT
        response = await wn.client.post(
            "/resources/v1/messaging",
            content=Chunks(request),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 200, response.text
        assert await count_messages(db) == 1


async def test_a_body_slower_than_the_timeout_is_answered_408(db: Database) -> None:
    async with running(db, start_engine=False, request_body_timeout=0.2) as wn:

        async def trickle() -> AsyncIterator[bytes]:
            yield b'{"object": '
            await asyncio.sleep(5)
            yield b'"whatsapp_business_account"}'

        started = time.monotonic()
        response = await wn.client.post("/webhooks/whatsapp", content=trickle())
        assert response.status_code == 408
        assert response.json()["error"] == {
            "code": "7004",
            "message": "Request body not received within 0.2 s",
        }
        assert time.monotonic() - started < 2

        async def slow_request() -> AsyncIterator[bytes]:
            yield orjson.dumps(body(wn.app_id))[:20]
            await asyncio.sleep(5)

        response = await wn.client.post("/resources/v1/messaging", content=slow_request())
        assert response.status_code == 408 and response.json()["response"]["code"] == "7004"
        assert await count_messages(db) == 0
