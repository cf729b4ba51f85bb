"""The test bench for sandbox tests: a webhook receiver that checks every signature, and a
client helper that speaks Cloud API to the sandbox."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.support.openapi import errors

from wanode.sandbox import BusinessNumber, HandsetConfig, Sandbox

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

    def openapi_errors(self) -> list[str]:
        """Violations of Meta's OpenAPI `WebhookPayload` schema across every body received."""
        problems: list[str] = []
        for body in self.bodies:
            checked = copy.deepcopy(body)
            for entry in checked["entry"]:
                for change in entry["changes"]:
                    if "messages" in change["value"]:
                        # cloud-api.md §12: the IncomingMessage discriminator maps to the
                        # *outbound* schemas, which reject every real inbound message; the
                        # inbound tests check messages[] items by hand instead.
                        change["value"]["messages"] = []
            problems += errors(checked, "WebhookPayload")
        return problems


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

    async def settle(self) -> None:
        await asyncio.wait_for(self.sandbox.drain(), timeout=5)


def text_payload(body: str, to: str = "+1 (650) 555-1234", **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
        **extra,
    }
