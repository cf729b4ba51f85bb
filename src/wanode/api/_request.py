"""Request fields both API shapes share: JSON body, numbers, notify URL, expiry."""

from __future__ import annotations

from typing import Any

import orjson

from wanode.api.context import Context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.engine.submit import Submission, UnknownApp, Unresolved
from wanode.guard import PrivateAddress, refuse_private
from wanode.messages import InvalidMessage
from wanode.notify.urls import InvalidNotifyUrl, validate_notify_url
from wanode.policy import check_bsuid, normalise_number, parse_expiry
from wanode.policy.notify_auth import PROFILE_ID
from wanode.store import apps as app_queries


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(SYNC.INVALID_JSON, f"the body is not valid JSON ({exc.msg})") from exc
    if not isinstance(body, dict):
        raise ApiError(SYNC.INVALID_JSON, "the body must be a JSON object")
    return body


def wa_id(number: Any, path: str, *, require_e164: bool = False) -> str:
    """A destination number as a WA ID; `require_e164` is the app's "+E.164" setting."""
    if not isinstance(number, str):
        raise ApiError(SYNC.INVALID_VALUE, f"{path} must be a string", field=path)
    try:
        return normalise_number(number, require_e164=require_e164, field=path)
    except InvalidMessage as exc:
        raise ApiError(exc.code, f"{path} {number!r} {exc.reason}", field=path) from exc


def bsuid(value: Any, path: str) -> str:
    """A destination business-scoped user id, checked (wanode.policy.bsuid)."""
    if not isinstance(value, str):
        raise ApiError(SYNC.INVALID_VALUE, f"{path} must be a string", field=path)
    try:
        return check_bsuid(value, field=path)
    except InvalidMessage as exc:
        raise ApiError(exc.code, f"{path} {value!r} {exc.reason}", field=path) from exc


def customer_id(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(SYNC.INVALID_VALUE, f"{path} must be a non-empty string", field=path)
    return value


def optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(SYNC.INVALID_VALUE, f"{name} must be a string", field=name)
    return value or None


def notify_url(body: dict[str, Any]) -> str | None:
    value = optional_str(body, "notifyurl")
    if value is None:
        return None
    try:
        url = validate_notify_url(value)
    except InvalidNotifyUrl as exc:
        raise ApiError(SYNC.INVALID_VALUE, exc.message, field="notifyurl") from exc
    if url.startswith("$("):
        raise ApiError(
            SYNC.INVALID_VALUE,
            "notifyurl variables are resolved by flows; the Messaging API needs a URL",
            field="notifyurl",
        )
    return url


def notify_auth_id(body: dict[str, Any]) -> str | None:
    """`notifyurlAuthId`: an auth profile's id (`/v1/notify-auth`). It is not looked up here:
    as the reference says, an unknown or deleted profile parks the DRs, not the send."""
    value = optional_str(body, "notifyurlAuthId")
    if value is not None and not PROFILE_ID.fullmatch(value):
        raise ApiError(
            SYNC.INVALID_VALUE,
            "notifyurlAuthId must be 1-64 letters, digits, '-', '_' or '.'",
            field="notifyurlAuthId",
        )
    return value


def expiry(body: dict[str, Any], *, now: float) -> float | None:
    """`expiry` as an ISO 8601 UTC time, or as seconds from now (the spec's two forms)."""
    value = body.get("expiry")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ApiError(
            SYNC.INVALID_VALUE, "expiry must be an ISO 8601 UTC time or seconds", field="expiry"
        )
    try:
        return parse_expiry(value, now)
    except InvalidMessage as exc:
        raise ApiError.from_invalid(exc, "") from exc


def app_id(body: dict[str, Any]) -> str:
    value = body.get("appid")
    if value is None:
        raise ApiError(SYNC.MANDATORY_MISSING, "param 'appid' missing", field="appid")
    if not isinstance(value, str):
        raise ApiError(SYNC.INVALID_VALUE, "appid must be a string", field="appid")
    return value


async def load_app(ctx: Context, app_id: str) -> dict[str, Any]:
    """The app a request names, from the per-process cache when it was read a moment ago."""
    app = ctx.apps.get(app_id)
    if app is not None:
        return app
    async with ctx.db.begin() as conn:
        app = await app_queries.get_app(conn, app_id)
    if app is None:
        raise ApiError(SYNC.INVALID_APP_ID, field="appid")
    ctx.apps.put(app_id, app)
    return app


async def queue(ctx: Context, submission: Submission) -> list[dict[str, Any] | Unresolved]:
    """Write the submission's messages to the outbox and wake the dispatcher."""
    try:
        outcomes = await ctx.submitter.submit(
            submission, now=ctx.engine.clock(), app=ctx.apps.get(submission.app_id)
        )
    except UnknownApp as exc:
        raise ApiError(SYNC.INVALID_APP_ID, field="appid") from exc
    ctx.engine.wake("dispatch")
    return outcomes


def unresolved_error(outcome: Unresolved) -> ApiError:
    field = outcome.destination.field
    return ApiError(SYNC.INVALID_VALUE, f"{field} {outcome.reason}", field=field)


async def guard_url(ctx: Context, url: str | None, field: str) -> None:
    """Refuse a URL from a user (notify, subscriber, graph_base_url) that reaches a non-public
    address (see wanode.guard)."""
    if url is None or url.startswith("$(") or ctx.public_urls.get(url):
        return
    try:
        await refuse_private(url, allow_private=ctx.settings.private_urls_allowed())
    except PrivateAddress as exc:
        raise ApiError(
            SYNC.INVALID_VALUE,
            f"{field}: {exc}; private addresses are refused (WANODE_ALLOW_PRIVATE_URLS)",
            field=field,
        ) from exc
    ctx.public_urls.put(url, True)
