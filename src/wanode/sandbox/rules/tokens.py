"""Judging a Graph request's access token the way Graph answers a bad one: code 190, HTTP 401,
with Graph's own message (not "(#190) <title>") and, for an expired token, subcode 463.

- No token (no `Authorization` header, or an empty one): "An access token is required to
  request this resource." Meta's OpenAPI document shows code 104 for this case; the sandbox
  answers 190, the code every Cloud API client handles as "fix the token".
- A token that cannot be a token (another scheme than `Bearer`/`OAuth`, blanks or control
  characters) or that no number ever had: "Invalid OAuth access token - Cannot parse access
  token", no subcode.
- A token a number had before it was re-provisioned with a new one: "Error validating access
  token: Session has expired on <when>. ...", subcode 463.
"""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Iterable

from wanode.sandbox.rules.errors import MetaError

EXPIRED_SUBCODE = 463
MISSING = "An access token is required to request this resource."
MALFORMED = "Invalid OAuth access token - Cannot parse access token"
_SCHEMES = ("bearer", "oauth")


class RetiredTokens:
    """Tokens numbers no longer have, with the Unix time each stopped working."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}

    def retire(self, token: str, now: float) -> None:
        self._since.setdefault(token, now)

    def revive(self, token: str) -> None:
        self._since.pop(token, None)

    def since(self, token: str) -> float | None:
        for known, when in self._since.items():
            if same(token, known):
                return when
        return None


def bearer(
    authorization: str | None, current: Iterable[str], retired: RetiredTokens, now: float
) -> str:
    """The request's token if some number has it now; otherwise the 190 Graph answers."""
    header = (authorization or "").strip()
    if not header:
        raise _token_error("no access token was sent", MISSING)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not token:
        raise _token_error("no access token was sent", MISSING)
    if scheme.lower() not in _SCHEMES or not token.isprintable() or " " in token:
        raise _token_error("the Authorization header is not 'Bearer <token>'", MALFORMED)
    if any(same(token, known) for known in current):
        return token
    expired = retired.since(token)
    if expired is not None:
        raise _token_error(
            "the access token was replaced and has expired",
            f"Error validating access token: Session has expired on {_when(expired)}. "
            f"The current time is {_when(now)}.",
            subcode=EXPIRED_SUBCODE,
        )
    raise _token_error("no phone number has this access token", MALFORMED)


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@functools.lru_cache(maxsize=1024)
def bearer_header(token: str) -> str | None:
    """The `Authorization` header `bearer` reads as `token` and nothing else, written the way
    clients write it ("Bearer <token>"); None for a token `bearer` would refuse as malformed.
    A request carrying exactly this header for the number that has `token` may act for it."""
    if not token or token != token.strip() or not token.isprintable() or " " in token:
        return None
    return f"Bearer {token}"


def _token_error(details: str, message: str, *, subcode: int | None = None) -> MetaError:
    return MetaError(190, details, message=message, subcode=subcode)


def _when(at: float) -> str:
    # Graph's wording, e.g. "Sunday, 06-Dec-26 12:00:00 UTC".
    return time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(at))
