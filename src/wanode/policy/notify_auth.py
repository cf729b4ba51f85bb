"""Notify-URL auth profiles (the Messaging API's `notifyurlAuthId`): the pure part, which
parameters each kind needs and how they are checked and shown. The one I/O a profile needs
(an OAuth2 token request) lives in `wanode.notify.auth`.

A profile is one of four kinds, with its parameters:

- `basic`: `username`, `password` -> `Authorization: Basic ...`;
- `bearer`: `token` -> `Authorization: Bearer ...`;
- `oauth2`: `token_url`, `client_id`, `client_secret`, optional `scope` -> a client-credentials
  token fetched from `token_url`, sent as `Authorization: Bearer ...`;
- `header`: `name`, `value` -> that header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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


class ProfileError(ValueError):
    """A profile's definition is wrong: `field` names the offending parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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
