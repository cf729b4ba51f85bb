"""Console sign-in: a session is an API key, kept encrypted in an HttpOnly, SameSite=Strict
cookie, and checked again on every request through the API's cache of valid keys — so a key
revoked through the API or the console ends its console sessions as it ends its API access.

The cookie holds a Fernet token (the database's keyring when it encrypts, otherwise a key of
this process, so sessions then end with the process) of `{key, csrf, expires}`: the key is
never in the cookie in clear, and the CSRF token travels with it. State-changing requests carry
that token in the form field `csrf` or the header `X-CSRF-Token` (`check_csrf`).

The sign-in form itself is protected by a double-submit token in a short-lived cookie, so that
another site cannot sign a browser in with a key of its choosing.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from cryptography.fernet import Fernet, InvalidToken
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from wanode.api.auth import key_caller
from wanode.api.context import Caller, Context
from wanode.console.render import page
from wanode.store.keyring import SecretKeyError

router = APIRouter(prefix="/console", include_in_schema=False)

COOKIE = "wanode_console"
PRE_COOKIE = "wanode_console_signin"
# A console session lasts a working day; the key's own revocation ends it sooner.
SESSION_SECONDS = 12 * 3600
_PRE_SECONDS = 1800

# The key of this process, for databases whose keyring does not encrypt (tests, tools).
_PROCESS_FERNET = Fernet(Fernet.generate_key())


@dataclass(frozen=True)
class ConsoleSession:
    caller: Caller
    csrf: str


class SignInRequired(Exception):
    """No valid session: answered by a redirect to the sign-in page (401 to htmx)."""


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token: answered with 403."""


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _seal(ctx: Context, payload: dict[str, Any]) -> str:
    data = orjson.dumps(payload).decode()
    keyring = ctx.db.keyring
    if keyring.encrypts:
        return keyring.seal(data)
    return _PROCESS_FERNET.encrypt(data.encode()).decode("ascii")


def _open(ctx: Context, token: str) -> dict[str, Any] | None:
    keyring = ctx.db.keyring
    try:
        if keyring.encrypts:
            if not token.startswith("enc:"):
                return None
            data = keyring.open(token, what="a console session cookie")
        else:
            data = _PROCESS_FERNET.decrypt(token.encode("ascii")).decode()
        payload = orjson.loads(data)
    except (SecretKeyError, InvalidToken, UnicodeError, orjson.JSONDecodeError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


async def current_session(request: Request) -> ConsoleSession | None:
    """The request's session, or None (no cookie, a forged or expired one, a revoked key)."""
    cached = request.scope.get("wanode.console_session")
    if isinstance(cached, ConsoleSession):
        return cached
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    ctx = _ctx(request)
    payload = _open(ctx, token)
    if payload is None:
        return None
    key, csrf, expires = payload.get("k"), payload.get("c"), payload.get("e")
    if not isinstance(key, str) or not isinstance(csrf, str) or not isinstance(expires, int):
        return None
    if expires <= time.time():
        return None
    caller = await key_caller(ctx, key)
    if caller is None:
        return None
    session = ConsoleSession(caller=caller, csrf=csrf)
    request.scope["wanode.console_session"] = session
    return session


async def require_session(request: Request) -> ConsoleSession:
    """FastAPI dependency: the signed-in session, or a redirect to sign-in (401 for htmx)."""
    session = await current_session(request)
    if session is None:
        raise SignInRequired()
    return session


async def check_csrf(request: Request, session: ConsoleSession) -> None:
    """Refuse (403) a request whose `csrf` form field or `X-CSRF-Token` header is not the
    session's token."""
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else None
    if sent is None or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise CsrfRefused()


async def csrf_checked(
    request: Request, session: ConsoleSession = Depends(require_session)
) -> ConsoleSession:
    """FastAPI dependency for state-changing routes: the session, its CSRF token checked."""
    await check_csrf(request, session)
    return session


def sign_in_url(request: Request) -> str:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return "/console/sign-in?next=" + quote(target, safe="")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if (
        target
        and (target == "/console" or target.startswith(("/console/", "/console?")))
        and not any(c in target for c in "\\\r\n")
    ):
        return target
    return "/console"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    return _sign_in_form(request, next=safe_next(next), error=None, status_code=200)


def _sign_in_form(request: Request, *, next: str, error: str | None, status_code: int) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        None,
        "sign_in.html",
        pre_csrf=token,
        next=next,
        error=error,
        status_code=status_code,
    )
    response.set_cookie(
        PRE_COOKIE,
        token,
        max_age=_PRE_SECONDS,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/sign-in")
async def sign_in(
    request: Request,
    key: str = Form(default=""),
    csrf: str = Form(default=""),
    next: str = Form(default="/console"),
) -> Response:
    pre = request.cookies.get(PRE_COOKIE, "")
    if not pre or not csrf or not hmac.compare_digest(pre.encode(), csrf.encode()):
        raise CsrfRefused()
    ctx = _ctx(request)
    key = key.strip()
    caller = await key_caller(ctx, key) if key else None
    if caller is None:
        return _sign_in_form(
            request,
            next=safe_next(next),
            error="That API key was refused: it is unknown or revoked.",
            status_code=401,
        )
    expires = int(time.time()) + SESSION_SECONDS
    token = _seal(ctx, {"k": key, "c": secrets.token_urlsafe(32), "e": expires})
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(PRE_COOKIE, path="/console")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, _session: ConsoleSession = Depends(csrf_checked)) -> Response:
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(
        COOKIE, path="/console", httponly=True, samesite="strict", secure=_secure(request)
    )
    return response
