"""Webhook signing and delivery (cloud-api.md §4.2).

Each business number has one queue and one worker, so its webhooks arrive in the order the
platform emitted them: a message's `sent` always before its `delivered`, before its `read`.

Bodies are encoded with orjson (the stdlib's `json` where orjson refuses a value, an integer
wider than 64 bits) and signed over the exact bytes sent, with the app secret's HMAC key set
up once per secret. Over real HTTP they go out on wanode's lean keep-alive client
(`wanode.transport.LeanClient`); a transport of the caller's (an in-process receiver, a mock)
is used through httpx.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import structlog

from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.transport import HttpxPoster, LeanClient, Poster

log = structlog.get_logger(__name__)

# Connections kept open to the webhook receivers (one worker per business number posts).
WEBHOOK_CONNECTIONS = 16
BUSINESS_ACCOUNT = "whatsapp_business_account"


def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value for `body`: HMAC-SHA256 keyed with the app secret."""
    mac = _keyed(secret).copy()
    mac.update(body)
    return "sha256=" + mac.hexdigest()


@functools.lru_cache(maxsize=256)
def _keyed(secret: str) -> hmac.HMAC:
    """The HMAC of nothing yet under `secret`: copied for each body, the key set up once."""
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


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
        # loopback traffic through a proxy that cannot reach it (neither client reads them).
        self._client: Poster = (
            HttpxPoster(
                httpx.AsyncClient(
                    transport=transport, timeout=config.webhook_timeout, trust_env=False
                )
            )
            if transport is not None
            else LeanClient(timeout=config.webhook_timeout, per_origin=WEBHOOK_CONNECTIONS)
        )
        self._lean = transport is None
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def post(self, phone_number_id: str, body: dict[str, Any]) -> None:
        """Queue `body` for delivery to the number's webhook URL. Needs a running event loop.

        Its `entry` items are encoded now (what is sent is what was posted)."""
        self._queue(phone_number_id, {**body, "entry": [_fragment(e) for e in body["entry"]]})

    def post_entry(self, phone_number_id: str, entry: bytes) -> None:
        """Queue a `whatsapp_business_account` webhook of one entry, already encoded."""
        self._queue(
            phone_number_id, {"object": BUSINESS_ACCOUNT, "entry": [orjson.Fragment(entry)]}
        )

    def _queue(self, phone_number_id: str, body: dict[str, Any]) -> None:
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
                if self._has_url(phone_number_id):
                    await self._deliver(phone_number_id, _encode(bodies))
            finally:
                for _ in bodies:
                    queue.task_done()

    def _has_url(self, phone_number_id: str) -> bool:
        number = self._numbers(phone_number_id)
        if number is None or not number.webhook_url:
            log.debug("sandbox.webhook.skipped", phone_number_id=phone_number_id, reason="no url")
            return False
        return True

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
            url = number.webhook_url
            try:
                if self._lean:
                    url, basic = _credentials(url)
                    if basic is not None:
                        headers["Authorization"] = basic
                response = await self._client.post(url, body, headers)
            # Whatever the receiver or the network does, it is a failed delivery to retry: an
            # in-process receiver's own exceptions surface here through the ASGI transport.
            except Exception as exc:
                reason = type(exc).__name__
            else:
                if 200 <= response.status_code < 300:
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


@functools.lru_cache(maxsize=256)
def _credentials(url: str) -> tuple[str, str | None]:
    """A URL's user and password as the Basic `Authorization` httpx sends for them, and the URL
    without them (the lean client sends a URL's path, never its user information)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), f"Basic {basic}"


def _fragment(entry: Any) -> orjson.Fragment:
    try:
        return orjson.Fragment(orjson.dumps(entry))
    except TypeError:
        # What orjson refuses (an integer wider than 64 bits) the stdlib writes.
        return orjson.Fragment(
            json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode()
        )


def _encode(bodies: list[dict[str, Any]]) -> bytes:
    """One body, or several merged into one envelope whose `entry` list holds all of theirs
    (each entry encoded when it was posted)."""
    body = bodies[0]
    if len(bodies) > 1:
        body = {**body, "entry": [entry for b in bodies for entry in b["entry"]]}
    return orjson.dumps(body)
