"""The hot routes' bare-ASGI path (api.fast) answers exactly as the FastAPI routes do.

Every request of the table goes to two apps over one context: the app as served (its hot
routes answered in front of FastAPI) and the same app built with `hot_routes=False` (FastAPI
answers). Status, every response header and the body must be the same bytes; a queued
message's transid (and its Location) is the only thing allowed to differ.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs
from tests.integration.test_api_errors import body, signed, status_webhook
from tests.support.bodies import Chunks
from tests.support.harness import Harness, running

from wanode.api.app import WanodeApp, create_app
from wanode.api.fast import MESSAGES, MESSAGING, WEBHOOK
from wanode.api.jwt_auth import make, new_service_secret
from wanode.codes import SYNC
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store.tables import messages, webhook_statuses

pytestmark = pytest.mark.asyncio

LIMIT = 40_000
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


Request = dict[str, Any]  # httpx.post's keyword arguments, made afresh for each app


def wire(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """What went over the wire, transids masked (each app queues its own message)."""
    headers = [(name, _UUID.sub(b"T", value)) for name, value in response.headers.raw]
    return response.status_code, headers, _UUID.sub(b"T", response.content)


async def both(
    wn: Harness, plain: httpx.AsyncClient, path: str, make_request: Callable[[], Request]
) -> httpx.Response:
    """POST the request to both apps; assert they answer the same bytes; the hot answer."""
    hot = await wn.client.post(path, **make_request())
    slow = await plain.post(path, **make_request())
    assert wire(hot) == wire(slow), (hot.text, slow.text)
    return hot


async def plain_client(wn: Harness) -> httpx.AsyncClient:
    """A client of the same service with FastAPI answering every route."""
    app = create_app(wn.ctx, run_engine=False, hot_routes=False)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://wanode", headers={"key": wn.key}
    )


async def count(db: Database, table: sa.Table) -> int:
    async with db.begin() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


def as_json(payload: Any, **headers: str | bytes) -> Callable[[], Request]:
    return lambda: {"content": orjson.dumps(payload), "headers": headers}


def raw(content: bytes, **headers: str | bytes) -> Callable[[], Request]:
    return lambda: {"content": content, "headers": headers}


async def test_the_messaging_api_answers_alike(db: Database) -> None:
    async with running(db, start_engine=False, max_request_bytes=LIMIT) as wn:
        assert isinstance(wn.client._transport, httpx.ASGITransport)
        served = wn.client._transport.app
        assert isinstance(served, WanodeApp) and served.hot is not None
        async with db.begin() as conn:
            app_key = await app_queries.create_key(conn, "app", app_id=wn.app_id)
        secret = new_service_secret()
        async with db.begin() as conn:
            await app_queries.update_app(conn, wn.app_id, service_secret=secret)
        plain = await plain_client(wn)
        a = wn.app_id
        many = [f"4915100{i:06d}" for i in range(1001)]
        cases: list[tuple[Callable[[], Request], int]] = [
            (as_json(body(a)), 200),
            (
                as_json(
                    body(
                        a,
                        correlationid="c-1",
                        destination=[
                            {"waid": ["+49 151 1234 5678", "4915112345679"], "correlationid": "d"},
                            {"customerid": ["nobody-é"]},
                        ],
                        callbackData="ünïcödé ✓ \u2028",
                    )
                ),
                200,
            ),
            (as_json(body(a, destination=[{"waid": [n]} for n in many[:1000]])), 200),
            (as_json(body(a, destination=[{"waid": many}])), 400),
            (as_json(body(a), key=""), 401),
            (as_json(body(a), key="wk_wrong"), 401),
            (as_json(body(a), key="wk_ünknown".encode()), 401),
            (as_json(body(a), authorization="Bearer not.a.jwt"), 401),
            (as_json(body(a), authorization="Bearer " + make(a, new_service_secret())), 401),
            (as_json(body(a), authorization="bearer " + make(a, secret), key="wk_wrong"), 200),
            (as_json(body(a), authorization="Basic abc"), 200),  # not a JWT: the key decides
            (as_json(body(a, appid="a_999"), key=app_key), 403),
            (as_json(body(a, appid="a_999")), 400),
            (raw(b'{"appid": '), 400),
            (raw(b""), 400),
            (raw(b"[1, 2]"), 400),
            (raw(b"\xff\xfe"), 400),
            (raw(b'"\\ud800"'), 400),
            (as_json(body(a, appid=None)), 400),
            (as_json(body(a, deliverychannel="sms")), 400),
            (as_json(body(a, destination=[{"waid": ["12ab\x01\u00e9"]}])), 400),
            (as_json(body(a, destination=[{"waid": ["1"], "n\u00e9\n\x7f": 1}])), 400),
            (as_json(body(a, notifyurl=" https://example.org/dr")), 400),
            (as_json(body(a, channels={"OTT-Messaging": {"wa": {"type": "nope"}}})), 400),
            (as_json(body(a, message={"template": "404"}, channels=None)), 400),
            (as_json(body(a, expiry=True)), 400),
            (as_json(body(a, callbackData="x" * (LIMIT + 1))), 413),
        ]
        for make_request, status in cases:
            answered = await both(wn, plain, MESSAGING, make_request)
            assert answered.status_code == status, answered.text
        # Each accepted request queued its messages once per app: 1 + 2 + 1000 + 1 (the JWT),
        # + 1 (the Basic header), unresolved customer ids none.
        assert await count(db, messages) == 2 * (1 + 2 + 1000 + 1 + 1)
        await plain.aclose()


async def test_bodies_over_the_limit_or_too_slow_are_refused_alike(db: Database) -> None:
    async with running(
        db, start_engine=False, max_request_bytes=LIMIT, request_body_timeout=0.2
    ) as wn:
        plain = await plain_client(wn)
        big = orjson.dumps(body(wn.app_id, callbackData="x" * (LIMIT * 2)))
        for path in (MESSAGING, MESSAGES, WEBHOOK):
            streams: list[Chunks] = []

            def chunked(streams: list[Chunks] = streams) -> Request:
                streams.append(Chunks(big))
                return {"content": streams[-1]}

            answered = await both(wn, plain, path, chunked)
            assert answered.status_code == 413
            assert answered.headers["connection"] == "close"
            # The chunk that crossed the limit was the last one either app pulled.
            assert [s.pulled for s in streams] == [LIMIT // 1000 + 1] * 2

            def declared() -> Request:
                return {"content": big, "headers": {"content-length": str(len(big))}}

            assert (await both(wn, plain, path, declared)).status_code == 413

            def trickle() -> Request:
                async def parts() -> AsyncIterator[bytes]:
                    yield big[:20]
                    await asyncio.sleep(5)
                    yield big[20:40]

                return {"content": parts()}

            assert (await both(wn, plain, path, trickle)).status_code == 408

            def unauthorised() -> Request:
                return {"content": Chunks(big), "headers": {"key": "wk_wrong"}}

            # The key is checked before the body is read: 401 for the send routes.
            expected = 413 if path == WEBHOOK else 401
            assert (await both(wn, plain, path, unauthorised)).status_code == expected
        assert await count(db, messages) == 0
        await plain.aclose()


async def test_the_native_send_answers_alike(db: Database) -> None:
    async with running(db, start_engine=False, max_request_bytes=LIMIT) as wn:
        plain = await plain_client(wn)
        text = {"type": "text", "text": {"body": "hi"}}
        a = wn.app_id
        cases: list[tuple[Callable[[], Request], int]] = [
            (as_json({"appid": a, "to": "4915112345678", **text}), 202),
            (as_json({"appid": a, "to": "4915112345678", "correlationid": "é", **text}), 202),
            (as_json({"appid": a, **text}), 400),
            (as_json({"appid": a, "to": "12ab", **text}), 400),
            (as_json({"appid": a, "customerid": "nobody", **text}), 400),
            (as_json({"to": "4915112345678", **text}), 400),
            (as_json({"appid": a, "to": "4915112345678", **text}, key="wk_x"), 401),
            (raw(b"{"), 400),
        ]
        for make_request, status in cases:
            answered = await both(wn, plain, MESSAGES, make_request)
            assert answered.status_code == status, answered.text
            if status == 202:
                transid = answered.json()["transid"]
                assert answered.headers["location"] == f"/v1/messages/{transid}"
        assert await count(db, messages) == 4
        await plain.aclose()


async def test_webhooks_are_received_alike(db: Database) -> None:
    async with running(db, start_engine=False, max_request_bytes=LIMIT) as wn:
        plain = await plain_client(wn)
        secret = wn.app["app_secret"]
        serial = iter(range(1_000_000))

        def status() -> Request:
            raw = status_webhook(wn.app, wamid=f"wamid.fast-{next(serial)}")
            return {"content": raw, "headers": {"x-hub-signature-256": signed(raw, secret)}}

        def signed_raw(content: bytes) -> Callable[[], Request]:
            return raw(content, **{"x-hub-signature-256": signed(content, secret)})

        junk = b'{"object": "whatsapp_business_account", "entry": 5}'
        cases: list[tuple[Callable[[], Request], int]] = [
            (status, 200),
            (signed_raw(b'{"object": "whatsapp_business_account", "entry": []}'), 200),
            (raw(status_webhook(wn.app)), 401),
            (raw(status_webhook(wn.app), **{"x-hub-signature-256": "sha256=00"}), 401),
            (raw(b"{}", **{"x-hub-signature-256": signed(b"{}", "wrong")}), 401),
            (signed_raw(junk), 400),
            (signed_raw(b"{nope"), 400),
            (signed_raw(b"[]"), 400),
            (signed_raw(b""), 400),
        ]
        for make_request, expected in cases:
            answered = await both(wn, plain, WEBHOOK, make_request)
            assert answered.status_code == expected, answered.text
        assert await count(db, webhook_statuses) == 2
        await plain.aclose()


async def test_other_requests_go_to_fastapi(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        plain = await plain_client(wn)
        for method, path in (
            ("GET", MESSAGING),
            ("PUT", MESSAGES),
            ("POST", MESSAGING + "/"),
            ("POST", "/v1/messages/x"),
            ("GET", WEBHOOK),
        ):
            hot = await wn.client.request(method, path, content=b"{}")
            slow = await plain.request(method, path, content=b"{}")
            assert wire(hot) == wire(slow)
            assert hot.status_code >= 300
        served = wn.client._transport.app  # type: ignore[attr-defined]
        assert isinstance(served, WanodeApp) and served.hot is not None

        def scope(method: str, path: str, root_path: str = "") -> dict[str, Any]:
            return {"type": "http", "method": method, "path": path, "root_path": root_path}

        for path in (MESSAGING, MESSAGES, WEBHOOK):
            assert served.hot.route(scope("POST", path)) is not None
            assert served.hot.route(scope("GET", path)) is None
            assert served.hot.route(scope("POST", path, root_path="/api")) is None
            assert served.hot.route({"type": "websocket", "path": path}) is None
        # The hot routes stay in the OpenAPI document.
        document = (await wn.client.get("/openapi.json")).json()
        for path in (MESSAGING, MESSAGES, WEBHOOK):
            assert "post" in document["paths"][path]
        await plain.aclose()


async def test_unexpected_errors_are_answered_and_raised_alike(db: Database) -> None:
    """An error no handler takes is answered 500 by the app's handler, logged, and raised on
    for the server to log too. A real failure: the table the webhook's statuses go to is
    gone."""
    async with running(db, start_engine=False) as wn:
        served = wn.client._transport.app  # type: ignore[attr-defined]
        plain_app = create_app(wn.ctx, run_engine=False, hot_routes=False)
        async with db.begin() as conn:
            await conn.run_sync(webhook_statuses.drop)
        raw = status_webhook(wn.app)
        headers = {"x-hub-signature-256": signed(raw, wn.app["app_secret"])}
        answers = []
        for app in (served, plain_app):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                base_url="http://wanode",
            ) as client:
                with capture_logs() as logs:
                    answers.append(await client.post(WEBHOOK, content=raw, headers=headers))
                assert [e["event"] for e in logs if e["log_level"] == "error"] == [
                    "api_unhandled_error"
                ]
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://wanode"
            ) as client:
                with pytest.raises(sa.exc.DBAPIError):
                    await client.post(WEBHOOK, content=raw, headers=headers)
        assert wire(answers[0]) == wire(answers[1])
        assert answers[0].status_code == 500
        assert answers[0].json()["error"]["code"] == SYNC.INTERNAL_ERROR
