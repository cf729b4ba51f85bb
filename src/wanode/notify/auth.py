"""Notify-URL auth profiles (the Messaging API's `notifyurlAuthId`): what a DR post carries to
prove itself to a receiver that demands it.

A profile is one of four kinds, with its parameters:

- `basic`: `username`, `password` → `Authorization: Basic …`;
- `bearer`: `token` → `Authorization: Bearer …`;
- `oauth2`: `token_url`, `client_id`, `client_secret`, optional `scope` → a client-credentials
  token fetched from `token_url` (RFC 6749 §4.4, client authenticated with HTTP Basic), kept
  until shortly before it expires, sent as `Authorization: Bearer …`;
- `header`: `name`, `value` → that header.

Policy (which parameters a kind needs, what header it makes) is pure; the only I/O is the
OAuth2 token request, through an httpx client the caller brings (guarded like every outgoing
request).
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

KINDS: Final = {
    "basic": ("username", "password"),
    "bearer": ("token",),
    "oauth2": ("token_url", "client_id", "client_secret"),
    "header": ("name", "value"),
}
OPTIONAL: Final = {"oauth2": ("scope",)}
# Parameters never shown again once written (the API answers them masked).
SECRET_PARAMS: Final = frozenset({"password", "token", "client_secret", "value"})
# Headers a `header` profile may not set: they belong to the DR post itself.
_RESERVED = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "x-wanode-dr-id"}
)
# A profile's id: chosen by its owner, as Webex's auth ids are.
PROFILE_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 field name
# A token is renewed this long before it expires, so none arrives expired.
EARLY_RENEWAL = 30.0


class ProfileError(ValueError):
    """A profile's definition is wrong: `field` names the offending parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TokenError(Exception):
    """The OAuth2 token endpoint did not give a token (the DR is retried later)."""


def validate(kind: Any, params: Any) -> dict[str, str]:
    """The profile's parameters, checked: every required one a non-empty string without
    CR/LF, nothing unknown."""
    if kind not in KINDS:
        raise ProfileError("type", f"type must be one of {', '.join(sorted(KINDS))}")
    if not isinstance(params, Mapping):
        raise ProfileError("params", "params must be an object")
    allowed = set(KINDS[kind]) | set(OPTIONAL.get(kind, ()))
    for name in params:
        if name not in allowed:
            raise ProfileError(f"params.{name}", f"unknown parameter for a {kind} profile")
    checked: dict[str, str] = {}
    for name in allowed:
        value = params.get(name)
        if value is None and name not in KINDS[kind]:
            continue
        if not isinstance(value, str) or not value:
            raise ProfileError(f"params.{name}", f"{name} is required (a non-empty string)")
        if "\r" in value or "\n" in value:
            raise ProfileError(f"params.{name}", f"{name} must not hold line breaks")
        checked[name] = value
    if kind == "header":
        name = checked["name"]
        if not _TOKEN.match(name) or name.lower() in _RESERVED:
            raise ProfileError("params.name", f"{name!r} cannot be set by a profile")
    if kind == "basic" and ":" in checked["username"]:
        raise ProfileError("params.username", "a Basic username cannot hold ':'")
    if kind == "oauth2":
        url = httpx.URL(checked["token_url"])
        if url.scheme not in ("http", "https") or not url.host:
            raise ProfileError("params.token_url", "token_url must be an http(s) URL")
    return checked


def masked(params: Mapping[str, str]) -> dict[str, str]:
    """The parameters as the API shows them: secrets replaced by a mask."""
    return {k: ("********" if k in SECRET_PARAMS else v) for k, v in params.items()}


@dataclass(frozen=True)
class Profile:
    id: str
    app_id: str
    kind: str
    params: Mapping[str, str]
    updated_at: float


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
