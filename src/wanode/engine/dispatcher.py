"""The dispatcher: claims queued messages, sends them, records the outcome, retries."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import structlog

from wanode.codes import webex as codes
from wanode.config import Settings
from wanode.engine.gateways import Gateways, credentials
from wanode.engine.reports import Failure, record
from wanode.gateway import Accepted, GatewayError, Rejected
from wanode.store import Database, lifecycle
from wanode.store import apps as app_queries
from wanode.store import messages as outbox

log = structlog.get_logger(__name__)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        gateways: Gateways,
        settings: Settings,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._db = db
        self._gateways = gateways
        self._settings = settings
        self._clock = clock
        self._apps: dict[str, dict[str, Any]] = {}
        self._limit = asyncio.Semaphore(settings.dispatch_concurrency)

    async def run_once(self) -> int:
        """Claim one batch and send it; returns how many messages were handled."""
        now = self._clock()
        async with self._db.begin() as conn:
            batch = await outbox.claim(
                conn,
                at=now,
                lease_seconds=self._settings.dispatch_lease_seconds,
                limit=self._settings.dispatch_batch,
            )
        if batch:
            await asyncio.gather(*(self._dispatch(message) for message in batch))
        return len(batch)

    def forget_app(self, app_id: str) -> None:
        self._apps.pop(app_id, None)

    async def _app(self, app_id: str) -> dict[str, Any] | None:
        app = self._apps.get(app_id)
        if app is None:
            async with self._db.begin() as conn:
                app = await app_queries.get_app(conn, app_id)
            if app is not None:
                self._apps[app_id] = app
        return app

    async def _dispatch(self, message: dict[str, Any]) -> None:
        async with self._limit:
            try:
                await self._send(message)
            except Exception:
                # The lease expires and another pass retries; nothing accepted is dropped.
                log.exception("dispatch_crashed", transid=message["transid"])

    async def _send(self, message: dict[str, Any]) -> None:
        now = self._clock()
        expires_at = message.get("expires_at")
        if expires_at is not None and now > expires_at:
            await self._fail(
                message,
                Failure(
                    codes.MESSAGE_EXPIRED,
                    None,
                    "Message expired",
                    "not handed to WhatsApp before its expiry",
                ),
            )
            return
        app = await self._app(message["app_id"])
        if app is None:
            await self._fail(
                message,
                Failure(
                    codes.DR_CODES["7010"],
                    None,
                    "Unknown app",
                    f"app {message['app_id']} no longer exists",
                ),
            )
            return
        try:
            gateway = self._gateways.for_app(app)
            result = await gateway.send(credentials(app), message["payload"])
        except (GatewayError, LookupError) as exc:
            await self._retry_or_fail(message, None, type(exc).__name__, str(exc))
            return
        if isinstance(result, Accepted):
            at = self._clock()
            async with self._db.begin() as conn:
                await record(
                    conn,
                    message,
                    lifecycle.SUBMITTED,
                    at=at,
                    now=at,
                    source="gateway",
                    wamid=result.wamid,
                )
            log.debug("message_submitted", transid=message["transid"], wamid=result.wamid)
            return
        assert isinstance(result, Rejected)
        if result.retryable:
            await self._retry_or_fail(message, result.code, result.title, result.details)
        else:
            await self._fail(message, Failure.from_meta(result.code, result.title, result.details))

    async def _retry_or_fail(
        self, message: dict[str, Any], code: int | None, title: str, details: str
    ) -> None:
        attempts = int(message["attempts"])
        if attempts >= self._settings.dispatch_max_attempts:
            failure = (
                Failure.from_meta(code, title, details)
                if code is not None
                else Failure(codes.DR_CODES["7010"], None, title, details)
            )
            await self._fail(message, failure)
            return
        delay = min(
            self._settings.dispatch_backoff_base * 2 ** (attempts - 1),
            self._settings.dispatch_backoff_max,
        )
        delay *= random.uniform(0.8, 1.2)
        async with self._db.begin() as conn:
            await outbox.reschedule(
                conn,
                message["transid"],
                next_attempt_at=self._clock() + delay,
                code=code,
                title=title,
                details=details,
            )
        log.info(
            "dispatch_retry",
            transid=message["transid"],
            attempt=attempts,
            code=code,
            reason=title,
            delay=round(delay, 2),
        )

    async def _fail(self, message: dict[str, Any], failure: Failure) -> None:
        at = self._clock()
        async with self._db.begin() as conn:
            await record(
                conn,
                message,
                lifecycle.FAILED,
                at=at,
                now=at,
                source="gateway",
                failure=failure,
            )
        log.info(
            "message_failed",
            transid=message["transid"],
            code=failure.meta_code,
            dr_code=failure.dr.code,
        )
