"""The preflight step: fetch a message's media link and check the file, once per link."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from wanode.guard import Guard
from wanode.preflight.cache import VerdictCache
from wanode.preflight.check import check_media, fetch_limit, sample_limit
from wanode.preflight.fetch import Fetched, fetch
from wanode.preflight.payload import MediaLink, media_link
from wanode.preflight.refusal import MEDIA_DOWNLOAD_ERROR, Refusal, download_error
from wanode.transport import PooledTransport

DOWNLOAD_ERROR_SECONDS = 15.0
CONNECTIONS = 32  # kept-alive connections to media hosts, all hosts together


class Preflight:
    """Checks media links before WhatsApp downloads them.

    A link's verdict is kept `cache_seconds`, so a campaign sending one image to 1,000 numbers
    fetches it once. A download error is kept only `DOWNLOAD_ERROR_SECONDS`: long enough that a
    dead link does not cost every message of a batch the full timeout, short enough that a
    media host's brief outage does not fail a whole campaign.

    `guard` (`wanode.guard`; None when private addresses are allowed) refuses a link, or a
    redirect, to an address it does not allow before connecting, and pins each connection to
    the addresses it approved. A refusal says only that the address is not allowed.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        cache_seconds: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        guard: Guard | None = None,
    ) -> None:
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            transport=transport or PooledTransport(CONNECTIONS, guard=guard),
            timeout=timeout,
            follow_redirects=True,
            # Sizes are checked on the file as stored, so ask for it uncompressed.
            headers={"accept-encoding": "identity", "user-agent": "wanode-preflight"},
        )
        self._cache: VerdictCache[tuple[str, str], Refusal | None] = VerdictCache(
            cache_seconds,
            clock,
            short_ttl=DOWNLOAD_ERROR_SECONDS,
            is_short=_download_error,
        )

    async def check(self, payload: Mapping[str, Any]) -> Refusal | None:
        """Check the media a rendered Cloud API payload links to; None when it may be sent
        (messages sent by media id and messages without media always may)."""
        media = media_link(payload)
        return None if media is None else await self.check_link(media)

    async def check_link(self, media: MediaLink) -> Refusal | None:
        refusal = await self._cache.get((media.kind, media.link), lambda: self._inspect(media))
        if refusal is not None and refusal.field != media.field:
            # Cached for the same link at another place in a payload (a reply-buttons header).
            refusal = dataclasses.replace(refusal, field=media.field)
        return refusal

    async def aclose(self) -> None:
        await self._cache.aclose()
        await self._client.aclose()

    async def _inspect(self, media: MediaLink) -> Refusal | None:
        try:
            # httpx's timeouts bound each connect and read, not the whole exchange: a server
            # trickling bytes would hold the fetch open indefinitely without this deadline.
            async with asyncio.timeout(self._timeout):
                fetched = await fetch(
                    self._client,
                    media.link,
                    limit=fetch_limit(media.kind),
                    keep=sample_limit(media.kind),
                    field=media.field,
                )
        except (TimeoutError, httpx.TimeoutException):
            return download_error(
                f"the server did not send the file within {self._timeout:g} s", field=media.field
            )
        if not isinstance(fetched, Fetched):
            return fetched
        return check_media(
            media.kind, media.mime_type, fetched.sample, fetched.size, field=media.field
        )


def _download_error(refusal: Refusal | None) -> bool:
    return refusal is not None and refusal.meta_code == MEDIA_DOWNLOAD_ERROR
