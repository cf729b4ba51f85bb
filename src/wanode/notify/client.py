"""Posting a delivery report to a notify URL, and deciding what the answer means.

Policy (which HTTP answers are final) is `classify`, a pure function; the I/O is the lean
client (`wanode.transport.LeanClient`), or an httpx client over a transport the caller brings,
as in the gateway layer.
"""

from __future__ import annotations

import enum
import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from wanode.guard import Guard, PrivateAddress, url_guard
from wanode.transport import HttpxPoster, LeanClient, Poster


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "give_up"


@dataclass(frozen=True)
class Attempt:
    """What one POST achieved. `error` is a short reason (never the response body, which is
    the receiver's and may hold anything)."""

    outcome: Outcome
    status_code: int | None
    error: str | None


# reference/webex-connect.md §3: "No retry for these HTTP responses: 202-208, 226, 300-308,
# 400, 402, 404-411, 414-416, 418, 505".
_NO_RETRY = frozenset(
    [
        *range(202, 209),
        226,
        *range(300, 309),
        400,
        402,
        *range(404, 412),
        *range(414, 417),
        418,
        505,
    ]
)


def classify(status_code: int) -> Outcome:
    """The fate of a DR given the receiver's HTTP status.

    Every 2xx is DELIVERED. The no-retry list names 202-208 and 226 too: we read it as "the
    receiver took the report", so they are DELIVERED rather than GIVE_UP; either way they are
    not retried, which is all the list says. The rest of the list (3xx, the listed 4xx, 505)
    is GIVE_UP: redirects are not followed and those answers will not change on a retry.
    Everything else (401, 403, 412, 413, 417, 429, other 5xx, ...) is RETRY.
    """
    if 200 <= status_code <= 299:
        return Outcome.DELIVERED
    if status_code in _NO_RETRY:
        return Outcome.GIVE_UP
    return Outcome.RETRY


# Reports posted at once, and connections kept open, per notify URL's origin: a receiver that
# hangs holds its own connections and no one else's.
CONNECTIONS = 16


@functools.lru_cache(maxsize=1024)
def _parse(url: str) -> httpx.URL | None:
    """The URL, or None when it is not an absolute http(s) URL. Cached: a campaign's reports
    all go to one URL, and parsing it was a tenth of the notifier's CPU."""
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None
    if target.scheme not in ("http", "https") or not target.host:
        return None
    return target


_NO_HEADERS: Mapping[str, str] = {}


class NotifyClient:
    """POSTs bodies to notify URLs. Never raises for a bad URL or a failed exchange: every
    result is an `Attempt` the notifier loop can record and schedule from.

    Unless `allow_private`, `guard` (by default `wanode.guard`'s) decides where reports may go:
    on the lean path it resolves each new connection's host once and the connection goes to an
    address it approved; over a caller's transport each URL is checked before it is posted to.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "wanode/0.1",
        allow_private: bool = True,
        guard: Guard | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._guard = guard if guard is not None else url_guard(allow_private)
        headers = {"User-Agent": user_agent, "Content-Type": "application/json"}
        # A redirect is an answer (GIVE_UP), not an instruction: following it would post
        # reports to a host the customer never configured. Neither path follows one.
        self._precheck = self._guard is not None and transport is not None
        self._poster: Poster = (
            LeanClient(
                timeout=timeout,
                per_origin=CONNECTIONS,
                headers=headers,
                resolve=None if self._guard is None else self._guard.addresses,
                tls=tls,
            )
            if transport is None
            else HttpxPoster(
                httpx.AsyncClient(
                    timeout=timeout, transport=transport, follow_redirects=False, headers=headers
                )
            )
        )

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Attempt:
        target = _parse(url)
        if target is None:
            return Attempt(Outcome.GIVE_UP, None, "invalid URL")
        try:
            if self._precheck:
                assert self._guard is not None
                await self._guard.check(url)
            reply = await self._poster.post(url, body, headers or _NO_HEADERS)
        except PrivateAddress as exc:
            return Attempt(Outcome.GIVE_UP, None, f"refused: {exc}")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return Attempt(Outcome.GIVE_UP, None, "invalid URL")
        except httpx.HTTPError as exc:
            return Attempt(Outcome.RETRY, None, type(exc).__name__)
        outcome = classify(reply.status_code)
        error = None if outcome is Outcome.DELIVERED else f"HTTP {reply.status_code}"
        return Attempt(outcome, reply.status_code, error)

    async def aclose(self) -> None:
        await self._poster.aclose()
