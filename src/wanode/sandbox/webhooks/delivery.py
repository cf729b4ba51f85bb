"""Webhook signing and delivery (cloud-api.md §4.2).

Each business number has one queue and one worker, so its webhooks arrive in the order the
platform emitted them: a message's `sent` always before its `delivered`, before its `read`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.transport import PooledTransport

log = structlog.get_logger(__name__)

# Connections kept open to the webhook receivers (one worker per business number posts).
WEBHOOK_CONNECTIONS = 16


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value for `body`: HMAC-SHA256 keyed with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhooks:
    """Signs webhook bodies and POSTs them to the number's webhook URL, retrying with backoff.

    The number (URL and app secret) is looked up on every attempt, so re-provisioning a number
    redirects and re-signs webhooks still in its queue.
    """

    def __init__(
        self,
        config: SandboxConfig,
        numbers: Callable[[str], BusinessNumber | None],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._numbers = numbers
        # Webhook targets are local services; proxy settings from the environment would send
        # loopback traffic through a proxy that cannot reach it.
        self._client = httpx.AsyncClient(
            transport=transport or PooledTransport(WEBHOOK_CONNECTIONS),
            timeout=config.webhook_timeout,
            trust_env=False,
        )
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def post(self, phone_number_id: str, body: dict[str, Any]) -> None:
        """Queue `body` for delivery to the number's webhook URL. Needs a running event loop."""
        queue = self._queues.get(phone_number_id)
        if queue is None:
            queue = self._queues[phone_number_id] = asyncio.Queue()
            self._workers[phone_number_id] = asyncio.create_task(
                self._work(phone_number_id, queue), name=f"sandbox-webhooks-{phone_number_id}"
            )
        queue.put_nowait(body)

    async def join(self) -> None:
        """Wait until every queued webhook was delivered or dropped."""
        await asyncio.gather(*(queue.join() for queue in self._queues.values()))

    async def aclose(self) -> None:
        for worker in self._workers.values():
            worker.cancel()
        for worker in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers.clear()
        self._queues.clear()
        await self._client.aclose()

    async def _work(self, phone_number_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            bodies = [await queue.get()]
            while len(bodies) < self._config.webhook_batch and not queue.empty():
                bodies.append(queue.get_nowait())
            try:
                await self._deliver(phone_number_id, _encode(bodies))
            finally:
                for _ in bodies:
                    queue.task_done()

    async def _deliver(self, phone_number_id: str, body: bytes) -> None:
        retries = max(0, self._config.webhook_retries)
        reason = ""
        for attempt in range(retries + 1):
            number = self._numbers(phone_number_id)
            if number is None or not number.webhook_url:
                log.debug(
                    "sandbox.webhook.skipped", phone_number_id=phone_number_id, reason="no url"
                )
                return
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(body, number.app_secret),
            }
            try:
                response = await self._client.post(
                    number.webhook_url, content=body, headers=headers
                )
            # Whatever the receiver or the network does, it is a failed delivery to retry: an
            # in-process receiver's own exceptions surface here through the ASGI transport.
            except Exception as exc:
                reason = type(exc).__name__
            else:
                if response.is_success:
                    log.debug(
                        "sandbox.webhook.delivered",
                        phone_number_id=phone_number_id,
                        attempt=attempt,
                    )
                    return
                reason = f"HTTP {response.status_code}"
            if attempt < retries:
                delay = self._config.webhook_retry_base * 2**attempt
                log.info(
                    "sandbox.webhook.retry",
                    phone_number_id=phone_number_id,
                    attempt=attempt + 1,
                    reason=reason,
                    delay=delay,
                )
                await asyncio.sleep(delay)
        log.warning(
            "sandbox.webhook.dropped",
            phone_number_id=phone_number_id,
            attempts=retries + 1,
            reason=reason,
        )


def _encode(bodies: list[dict[str, Any]]) -> bytes:
    """One body, or several merged into one envelope whose `entry` list holds all of theirs."""
    body = bodies[0]
    if len(bodies) > 1:
        body = {**body, "entry": [entry for b in bodies for entry in b["entry"]]}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
