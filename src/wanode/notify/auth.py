"""Notify-URL auth profiles at work: the headers a profile adds to a DR post, and the OAuth2
client-credentials token (RFC 6749 §4.4, client authenticated with HTTP Basic) an `oauth2`
profile fetches from its `token_url`, kept until shortly before it expires. That request is
the only I/O, through an httpx client the caller brings (guarded like every outgoing request).
What a profile is and how it is checked is pure policy: `wanode.policy.notify_auth`.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from wanode.policy.notify_auth import Profile

# A token is renewed this long before it expires, so none arrives expired.
EARLY_RENEWAL = 30.0


class TokenError(Exception):
    """The OAuth2 token endpoint did not give a token (the DR is retried later)."""


@dataclass
class _Token:
    value: str
    expires_at: float


class NotifyAuth:
    """The headers each profile adds to a DR post; OAuth2 tokens are cached per profile
    version (a changed profile fetches a new one) and fetched once for concurrent posts."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        guard: Callable[[str], Any] | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._guard = guard
        self._tokens: dict[tuple[str, float], _Token] = {}
        self._locks: dict[tuple[str, float], asyncio.Lock] = {}

    async def headers(self, profile: Profile) -> dict[str, str]:
        p = profile.params
        if profile.kind == "basic":
            pair = f"{p['username']}:{p['password']}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        if profile.kind == "bearer":
            return {"Authorization": f"Bearer {p['token']}"}
        if profile.kind == "header":
            return {p["name"]: p["value"]}
        if profile.kind == "oauth2":
            return {"Authorization": f"Bearer {await self._token(profile)}"}
        raise TokenError(f"unknown profile type {profile.kind!r}")

    def forget(self, profile_id: str) -> None:
        """Drop a profile's cached token (after a 401 from the receiver, or a change)."""
        for key in [k for k in self._tokens if k[0] == profile_id]:
            del self._tokens[key]

    async def _token(self, profile: Profile) -> str:
        key = (profile.id, profile.updated_at)
        token = self._tokens.get(key)
        if token is not None and token.expires_at > self._clock():
            return token.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            token = self._tokens.get(key)
            if token is None or token.expires_at <= self._clock():
                self.forget(profile.id)
                token = await self._fetch(profile)
                self._tokens[key] = token
            return token.value

    async def _fetch(self, profile: Profile) -> _Token:
        p = profile.params
        if self._guard is not None:
            await self._guard(p["token_url"])
        form = {"grant_type": "client_credentials"}
        if p.get("scope"):
            form["scope"] = p["scope"]
        try:
            reply = await self._client.post(
                p["token_url"], data=form, auth=(p["client_id"], p["client_secret"])
            )
        except httpx.HTTPError as exc:
            raise TokenError(f"token endpoint: {type(exc).__name__}") from None
        if reply.status_code != 200:
            raise TokenError(f"token endpoint: HTTP {reply.status_code}")
        try:
            answer = reply.json()
            value = answer["access_token"]
            lifetime = float(answer.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise TokenError("token endpoint: no access_token in its answer") from None
        if not isinstance(value, str) or not value or "\r" in value or "\n" in value:
            raise TokenError("token endpoint: an unusable access_token")
        expires_at = self._clock() + max(lifetime - EARLY_RENEWAL, 1.0)
        return _Token(value, expires_at)
