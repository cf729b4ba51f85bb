"""The test bench for sandbox tests: a webhook receiver that checks every signature and every
body's shape, and a client helper that speaks Cloud API to the sandbox."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.support import openapi

from wanode.sandbox import BusinessNumber, HandsetConfig, Sandbox, SandboxConfig

# The corrections of Meta's document for inbound messages live with the webhook fixture tests;
# pytest puts their folder on sys.path only when it collects it, and this module may run alone.
_UNIT_TESTS = str(Path(__file__).resolve().parents[1] / "unit")
if _UNIT_TESTS not in sys.path:
    sys.path.insert(0, _UNIT_TESTS)

from test_events_openapi import _corrected  # noqa: E402

NUMBER = BusinessNumber(
    phone_number_id="106540352242922",
    waba_id="102290129340398",
    display_phone_number="15550783881",
    access_token="tok",
    app_secret="secret",
    webhook_url="http://receiver/webhooks/whatsapp",
)
USER = "16505551234"
FAST = HandsetConfig(sent_delay=0.0, delivered_delay=0.01, read_delay=0.02)
AUTH = {"Authorization": f"Bearer {NUMBER.access_token}"}
TEMPLATE_FIELD = "message_template_status_update"
_TEMPLATE_VALUE_KEYS = {
    "event",
    "message_template_id",
    "message_template_name",
    "message_template_language",
    "message_template_category",
    "reason",
    "rejection_info",
    "other_info",
    "disable_info",
}


@functools.cache
def _webhook_validator() -> Any:
    """Meta's `WebhookPayload` schema with the fixture tests' corrections of its inbound
    messages (cloud-api.md §12), and three more the sandbox's messages need, each where Meta's
    docs (cloud-api.md §4.4) contradict the document:

    - a shared location may lack `name` and `address` (a dropped pin has neither);
    - a picked list row may lack `description` (rows need not have one);
    - a removed reaction omits `emoji`.
    """
    spec = _corrected(openapi._spec())
    schemas = spec["components"]["schemas"]
    location = schemas["LocationMessage_1"]["allOf"][1]["properties"]["location"]
    location["required"] = ["latitude", "longitude"]
    schemas["InteractiveListReplyContent"]["properties"]["list_reply"]["required"] = ["id", "title"]
    reaction = schemas["ReactionMessage_1"]["allOf"][1]["properties"]["reaction"]
    reaction["required"] = ["message_id"]
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    schema = {"$ref": f"{openapi._URI}#/components/schemas/WebhookPayload"}
    registry = Registry().with_resource(openapi._URI, resource)
    return openapi.WebhookValidator(schema, registry=registry)


def webhook_errors(body: Any) -> list[str]:
    """Violations of Meta's (corrected) `WebhookPayload` schema by a `messages` webhook."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _webhook_validator().iter_errors(body)
    ]


def template_update_errors(body: dict[str, Any]) -> list[str]:
    """Violations of the template status webhook's shape (cloud-api.md §3.4), which Meta's
    OpenAPI document does not cover (§12)."""
    problems = []
    if body.get("object") != "whatsapp_business_account":
        problems.append("object: not whatsapp_business_account")
    for entry in body.get("entry", []):
        if not isinstance(entry.get("id"), str) or not isinstance(entry.get("time"), int):
            problems.append("entry: needs a string id and an integer time")
        for change in entry.get("changes", []):
            value = change["value"]
            if set(value) - _TEMPLATE_VALUE_KEYS:
                problems.append(f"value: unknown keys {sorted(set(value) - _TEMPLATE_VALUE_KEYS)}")
            if not isinstance(value.get("message_template_id"), int):
                problems.append("message_template_id: must be a number")
            for key in ("event", "message_template_name", "message_template_language", "reason"):
                if not isinstance(value.get(key), str):
                    problems.append(f"{key}: must be a string")
    return problems


class Receiver:
    """A webhook endpoint: verifies `X-Hub-Signature-256` on the raw bytes, records the bodies,
    and answers the statuses queued in `failures` before it starts answering 200."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.failures: list[int] = []
        self.attempts = 0
        self.bad_signatures = 0
        self.bodies: list[dict[str, Any]] = []
        self._arrival = asyncio.Condition()
        self.app = Starlette(routes=[Route("/webhooks/whatsapp", self._hook, methods=["POST"])])

    async def _hook(self, request: Request) -> Response:
        raw = await request.body()
        self.attempts += 1
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        given = request.headers.get("x-hub-signature-256", "")
        if not hmac.compare_digest(given, expected):
            self.bad_signatures += 1
            return Response(status_code=403)
        assert request.headers["content-type"] == "application/json"
        if self.failures:
            return Response(status_code=self.failures.pop(0))
        self.bodies.append(json.loads(raw))
        async with self._arrival:
            self._arrival.notify_all()
        return Response(status_code=200)

    def values(self) -> list[dict[str, Any]]:
        return [
            change["value"]
            for body in self.bodies
            for entry in body["entry"]
            for change in entry["changes"]
        ]

    def statuses(self, wamid: str | None = None) -> list[dict[str, Any]]:
        found = [item for value in self.values() for item in value.get("statuses", [])]
        return [item for item in found if wamid is None or item["id"] == wamid]

    async def wait_for_statuses(self, wamid: str, count: int) -> None:
        async with self._arrival:
            await asyncio.wait_for(
                self._arrival.wait_for(lambda: len(self.statuses(wamid)) >= count), timeout=5
            )

    def messages(self) -> list[dict[str, Any]]:
        """Every inbound `messages[]` item received, oldest first."""
        return [item for value in self.values() for item in value.get("messages", [])]

    def template_updates(self) -> list[dict[str, Any]]:
        """The values of every template status webhook received, oldest first."""
        return [
            change["value"]
            for body in self.bodies
            for entry in body["entry"]
            for change in entry["changes"]
            if change["field"] == TEMPLATE_FIELD
        ]

    def openapi_errors(self) -> list[str]:
        """Violations of Meta's OpenAPI `WebhookPayload` schema (corrected where Meta's docs
        contradict it) across every body received; template status webhooks, which the
        document does not cover, are checked against cloud-api.md §3.4 instead."""
        problems: list[str] = []
        for body in self.bodies:
            fields = {c["field"] for entry in body["entry"] for c in entry["changes"]}
            if fields == {TEMPLATE_FIELD}:
                problems += template_update_errors(body)
            else:
                problems += webhook_errors(body)
        return problems


class Clock:
    """A wall clock a test moves by hand; starts at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Bench:
    sandbox: Sandbox
    client: httpx.AsyncClient
    receiver: Receiver

    async def send(
        self, payload: dict[str, Any] | None = None, *, token: str = NUMBER.access_token
    ) -> httpx.Response:
        body = payload or text_payload("hello")
        return await self.client.post(
            f"/v23.0/{NUMBER.phone_number_id}/messages",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )

    async def upload(
        self,
        data: bytes,
        mime_type: str,
        *,
        filename: str = "file",
        token: str = NUMBER.access_token,
    ) -> httpx.Response:
        """`POST /media` the way Meta's docs (and pywa, heyoo) do: multipart, typed twice."""
        return await self.client.post(
            f"/v23.0/{NUMBER.phone_number_id}/media",
            files={"file": (filename, data, mime_type)},
            data={"messaging_product": "whatsapp", "type": mime_type},
            headers={"Authorization": f"Bearer {token}"},
        )

    async def graph(
        self, method: str, path: str, *, token: str = NUMBER.access_token, **kwargs: Any
    ) -> httpx.Response:
        """A Graph call (`path` after the version) with the number's bearer token."""
        headers = {"Authorization": f"Bearer {token}"}
        return await self.client.request(method, f"/v23.0/{path}", headers=headers, **kwargs)

    async def identity_check(self, enabled: bool = True) -> None:
        """Turn the number's identity-change check on (webhooks carry identity hashes) or off."""
        response = await self.graph(
            "POST",
            f"{NUMBER.phone_number_id}/settings",
            json={"user_identity_change": {"enable_identity_key_check": enabled}},
        )
        assert response.json() == {"success": True}

    async def create_template(self, definition: dict[str, Any]) -> httpx.Response:
        return await self.graph("POST", f"{NUMBER.waba_id}/message_templates", json=definition)

    async def approved(self, definition: dict[str, Any]) -> str:
        """Create a template and let the review approve it; returns its id."""
        response = await self.create_template(definition)
        assert response.status_code == 200, response.json()
        await self.settle()
        template_id: str = response.json()["id"]
        return template_id

    async def act(self, action: str, body: dict[str, Any], wa_id: str = USER) -> httpx.Response:
        """A handset action: `POST /handsets/{wa_id}/{action}`."""
        return await self.client.post(f"/handsets/{wa_id}/{action}", json=body)

    async def inbox(self, wa_id: str = USER) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = (
            await self.client.get(f"/handsets/{wa_id}/messages")
        ).json()
        return entries

    async def settle(self) -> None:
        await asyncio.wait_for(self.sandbox.drain(), timeout=5)


@asynccontextmanager
async def open_bench(
    receiver: Receiver,
    *,
    clock: Callable[[], float] = time.time,
    enforce_window: bool = False,
    fetch_media: bool = False,
    media_fetch_timeout: float = 10.0,
) -> AsyncIterator[Bench]:
    """A sandbox with `NUMBER` provisioned, spoken to over in-process HTTP, its webhooks going
    to `receiver`; on leaving, every webhook must have been signed and match Meta's document.

    Most sandbox tests message handsets that never wrote, so the 24-hour window is off unless
    asked for (its tests are in test_window.py). Media links are not fetched unless asked
    for either: most tests send links on hosts that do not exist (example.com), as placeholders;
    the fetch's tests (test_sandbox_media_links.py) serve real files on loopback.
    Meta's rate limits and per-user marketing limit are lifted: tests send fast and to the
    same handsets (their tests are test_rate_limits.py and test_policy_errors.py).
    """
    config = SandboxConfig(
        default_handset=FAST,
        webhook_retries=3,
        webhook_retry_base=0.01,
        template_review_delay=0.0,
        throughput_mps=None,
        pair_limit=False,
        marketing_limit=None,
        enforce_window=enforce_window,
        fetch_media=fetch_media,
        media_fetch_timeout=media_fetch_timeout,
    )
    sandbox = Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app), clock=clock)
    sandbox.provision(NUMBER)
    transport = httpx.ASGITransport(app=sandbox.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            yield Bench(sandbox, client, receiver)
    finally:
        await sandbox.aclose()
    assert receiver.bad_signatures == 0
    assert receiver.openapi_errors() == []


def assert_meta_error(response: httpx.Response, code: int, status: int) -> dict[str, Any]:
    assert response.status_code == status
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    if code == 190:
        # Graph's token errors: its own message, a subcode for an expired token, no error_data.
        assert error["type"] == "OAuthException"
        assert error["message"] and not error["message"].startswith("(#")
        assert error["fbtrace_id"]
        assert set(error) <= {"message", "type", "code", "error_subcode", "fbtrace_id"}
        assert openapi.errors(response.json(), "GraphAPIError") == []
        return error
    assert re.fullmatch(rf"\(#{code}\) .+", error["message"])
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["error_data"]["details"]
    assert error["fbtrace_id"]
    assert set(error) == {"message", "type", "code", "error_data", "fbtrace_id"}
    return error


def payload_of(kind: str, body: Any) -> dict[str, Any]:
    """A send request to `USER` of message type `kind` whose body object is `body`."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": kind,
        kind: body,
    }


def text_payload(body: str, to: str = "+1 (650) 555-1234", **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
        **extra,
    }
