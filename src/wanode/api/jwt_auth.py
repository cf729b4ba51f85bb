"""JWT authentication, as the Messaging API reference has it (webex-connect.md §1):
`Authorization: Bearer <jwt>`, HS256, `iss` the service (app) id, `iat` in Unix seconds, signed
with the base64-decoded service secret, valid for 60 minutes. When a request carries both a
JWT and a key, the JWT decides.

An app's service secret is made with `wanode keys service-secret --app APP` (shown once, stored
encrypted); until it has one, no JWT names it. Verification is PyJWT's, restricted to HS256,
so `alg: none` and every other algorithm are refused.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from typing import Any, Final

import jwt

ALGORITHM: Final = "HS256"
LIFETIME: Final = 60 * 60  # seconds
# Clocks differ a little between the caller and us: a token `iat` this far ahead still passes.
LEEWAY: Final = 30


class InvalidToken(Exception):
    """Why a JWT is refused (the text is safe to show: it names no secret)."""


def new_service_secret() -> str:
    """A service secret as the reference hands them out: 32 random bytes, base64."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def issuer(token: str) -> str:
    """The token's `iss` (the app it claims to act for), read before the signature is checked
    (to find the secret that checks it)."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidToken("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"the token must be signed with {ALGORITHM}")
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        raise InvalidToken("the token has no iss (service id)")
    return iss


def verify(token: str, service_secret: str, *, now: float | None = None) -> dict[str, Any]:
    """The token's claims once its signature, `iss`-independent rules and age are checked."""
    try:
        key = base64.b64decode(service_secret, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidToken("the service secret is not base64") from None
    at = time.time() if now is None else now
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["iss", "iat"], "verify_iat": False},
            leeway=LEEWAY,
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("the token's signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token ({type(exc).__name__})") from None
    iat = claims["iat"]
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise InvalidToken("iat must be a number of seconds")
    if iat > at + LEEWAY:
        raise InvalidToken("the token is dated in the future (iat)")
    if at - iat > LIFETIME + LEEWAY:
        raise InvalidToken("the token has expired (60 minutes after its iat)")
    return claims


def make(service_id: str, service_secret: str, *, now: float | None = None) -> str:
    """A token for `service_id`, as a client following the reference would make it (for
    `wanode keys jwt` and tests)."""
    at = int(time.time() if now is None else now)
    key = base64.b64decode(service_secret)
    return jwt.encode({"iss": service_id, "iat": at}, key, algorithm=ALGORITHM)
