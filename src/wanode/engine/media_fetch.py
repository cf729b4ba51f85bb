"""The media fetcher: downloads media customers sent into the media directory.

For each pending `inbound_media` row: `GET /{media-id}` through the app's gateway for a
download URL, download it with the bearer token (never more than `inbound_media_max_bytes`),
check its SHA-256 against the webhook's digest and Graph's, write it atomically (a temporary
file renamed into place) to `<media_dir>/<app_id>/<media_id>`, and record the path or the
reason it failed.

A refusal WhatsApp calls final (an unknown or expired media id, a bad token), a file over the
cap and a digest mismatch fail the row at once. An unreachable gateway and retryable errors are
tried again, `inbound_media_attempts` times in all, waiting `inbound_media_retry_interval`
seconds doubled after each failure. Retries are counted in memory: a restart starts the count
again, which can only add attempts, never lose media.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import re
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.config import Settings
from wanode.engine.gateways import Gateways, credentials
from wanode.gateway import GatewayError, MediaRejected, MediaTooLarge
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import media as media_queries

log = structlog.get_logger(__name__)

_SAFE_NAME = re.compile(r"[0-9A-Za-z_-]{1,128}")
_MAX_BACKOFF = 300.0


class _Permanent(Exception):
    """This media cannot be downloaded, whatever we try."""


class _Transient(Exception):
    """This attempt failed; a later one may succeed."""


@dataclass
class _Retry:
    attempts: int
    not_before: float


class MediaFetcher:
    def __init__(
        self,
        db: Database,
        gateways: Gateways,
        settings: Settings,
        *,
        clock: Callable[[], float],
        batch: int = 16,
        concurrency: int = 4,
    ) -> None:
        self._db = db
        self._gateways = gateways
        self._settings = settings
        self._clock = clock
        self._batch = batch
        # Each download is held in memory until written: this bounds memory to
        # `concurrency` times the size cap.
        self._slots = asyncio.Semaphore(concurrency)
        self._retries: dict[str, _Retry] = {}

    async def run_once(self) -> int:
        """Download what is pending and not waiting for a retry; returns how many were tried."""
        now = self._clock()
        waiting = [media_id for media_id, r in self._retries.items() if r.not_before > now]
        async with self._db.begin() as conn:
            rows = await media_queries.pending(conn, limit=self._batch, skip=waiting)
            apps = {
                app_id: await app_queries.get_app(conn, app_id)
                for app_id in {row["app_id"] for row in rows}
            }
        await asyncio.gather(*(self._fetch(row, apps[row["app_id"]]) for row in rows))
        return len(rows)

    async def _fetch(self, row: dict[str, Any], app: dict[str, Any] | None) -> None:
        async with self._slots:
            if self._db.is_sqlite:
                await self._attempt(row, app, None)
                return
            # PostgreSQL: the row stays locked while it is downloaded, so fetchers in other
            # processes skip it instead of downloading it too.
            async with self._db.begin() as conn:
                if await media_queries.lock_pending(conn, row["media_id"]):
                    await self._attempt(row, app, conn)

    async def _attempt(
        self, row: dict[str, Any], app: dict[str, Any] | None, conn: AsyncConnection | None
    ) -> None:
        """Download `row`'s media and record the outcome, in `conn`'s transaction if given."""
        media_id = row["media_id"]
        try:
            if app is None:
                raise _Permanent(f"app {row['app_id']} is gone")
            relative, size = await self._download(row, app)
        except _Transient as exc:
            await self._retry_or_fail(conn, media_id, str(exc))
            return
        except _Permanent as exc:
            await self._fail(conn, media_id, str(exc))
            return
        self._retries.pop(media_id, None)
        await self._record(conn, media_queries.downloaded, media_id, path=relative, size=size)
        log.info("inbound_media_downloaded", media_id=media_id, size=size)

    async def _record(
        self,
        conn: AsyncConnection | None,
        query: Callable[..., Awaitable[bool]],
        media_id: str,
        **values: Any,
    ) -> None:
        if conn is not None:
            await query(conn, media_id, **values)
            return
        async with self._db.begin() as own:
            await query(own, media_id, **values)

    async def _download(self, row: dict[str, Any], app: dict[str, Any]) -> tuple[str, int]:
        """The file's path relative to the media directory, and its size."""
        cap = self._settings.inbound_media_max_bytes
        info: dict[str, Any] | None = None
        try:
            gateway = self._gateways.for_app(app)
            creds = credentials(app)
            info = await gateway.media_info(creds, row["media_id"])
            if _declared_size(info) > cap:
                raise MediaTooLarge(cap, _declared_size(info))
            data = await gateway.download_media(creds, info["url"], max_bytes=cap)
        except MediaTooLarge as exc:
            raise _Permanent(f"too large: {exc}") from exc
        except MediaRejected as exc:
            rejected = exc.rejected
            reason = f"WhatsApp refused ({rejected.code}) {rejected.title}: {rejected.details}"
            # A download URL lives 5 minutes and then answers 404: the next try gets a new one.
            expired = rejected.http_status == 404 and info is not None
            raise (_Transient if rejected.retryable or expired else _Permanent)(reason) from exc
        except (GatewayError, LookupError) as exc:
            raise _Transient(f"WhatsApp could not be reached: {exc}") from exc
        actual = hashlib.sha256(data).digest()
        for source, given in (("webhook", row["sha256"]), ("Graph", info.get("sha256"))):
            expected = _digest(given)
            if expected is not None and expected != actual:
                raise _Permanent(
                    f"sha256 mismatch: the {source} says {given}, the file has {actual.hex()}"
                )
        relative = Path(_safe(row["app_id"])) / _safe(row["media_id"])
        try:
            await asyncio.to_thread(_write, Path(self._settings.media_dir) / relative, data)
        except OSError as exc:
            raise _Transient(f"could not write the file: {exc}") from exc
        return relative.as_posix(), len(data)

    async def _retry_or_fail(
        self, conn: AsyncConnection | None, media_id: str, reason: str
    ) -> None:
        previous = self._retries.get(media_id)
        attempts = (previous.attempts if previous else 0) + 1
        if attempts >= self._settings.inbound_media_attempts:
            await self._fail(conn, media_id, f"gave up after {attempts} attempts: {reason}")
            return
        delay = min(self._settings.inbound_media_retry_interval * 2 ** (attempts - 1), _MAX_BACKOFF)
        self._retries[media_id] = _Retry(attempts, self._clock() + delay)
        log.info("inbound_media_retry", media_id=media_id, attempt=attempts, reason=reason)

    async def _fail(self, conn: AsyncConnection | None, media_id: str, reason: str) -> None:
        self._retries.pop(media_id, None)
        await self._record(conn, media_queries.failed, media_id, error=reason)
        log.warning("inbound_media_failed", media_id=media_id, reason=reason)


def _declared_size(info: dict[str, Any]) -> int:
    """Graph's `file_size` (a string); 0 when it gave none."""
    size = str(info.get("file_size", ""))
    return int(size) if size.isdigit() else 0


def _digest(text: Any) -> bytes | None:
    """A SHA-256 as WhatsApp writes it: hex in Graph's answers, base64 in webhooks.

    None when there is none, or it is neither: the download is then not checked against it.
    """
    if not isinstance(text, str) or not text:
        return None
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(text.encode())
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    return None


def _safe(name: str) -> str:
    """`name` as one path segment: as is when plain (Graph ids are digits), else hashed."""
    if _SAFE_NAME.fullmatch(name):
        return name
    return hashlib.sha256(name.encode()).hexdigest()


def _write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the whole file or none of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
