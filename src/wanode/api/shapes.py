"""What `/v1/keys` and `/v1/apps` take and answer, apart from their routes: the CLI's `keys` and
`apps` commands print and check the same shapes, and import them from here so that they start
without FastAPI, the API's context and the engine."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wanode.api._time import iso
from wanode.store import apps as app_queries

if TYPE_CHECKING:
    from wanode.engine.pacing_status import PacingStatus

Category = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
# New customers reachable with templates in a rolling 24 h: a number (Meta's tiers are 250,
# 2000, 10000, 100000) or "unlimited"; null (the default) follows WANODE_MESSAGING_TIER.
Tier = Annotated[int, Field(ge=1, le=2**31 - 1)] | Literal["unlimited"]
InDoubt = Literal["resend", "fail"]
# DRs signed with `x-hub-signature` (webex-connect.md §3), keyed with `notify_secret`.
Signing = Literal["sha256", "sha512"]
NotifySecret = Annotated[str, Field(min_length=16, max_length=512)]


def valid_notify_url(value: str | None) -> str | None:
    if value is None:
        return None
    # Imported here, as `shown_tier` below: `wanode.notify` brings the HTTP clients and
    # `wanode.engine.pacing_status` the messaging policy, which `keys list` and `apps list` skip.
    from wanode.notify.urls import InvalidNotifyUrl, validate_notify_url

    try:
        return validate_notify_url(value)
    except InvalidNotifyUrl as exc:
        raise ValueError(exc.message) from exc


class AppIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="WhatsApp app", min_length=1, max_length=200)
    phone_number_id: str = Field(pattern=r"^\d{1,40}$")
    waba_id: str = Field(pattern=r"^\d{1,40}$")
    display_phone_number: str = Field(default="", max_length=32)
    access_token: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    verify_token: str = Field(default_factory=lambda: secrets.token_urlsafe(16), min_length=1)
    gateway: Literal["cloud", "sandbox"] = "cloud"
    graph_base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    api_version: str | None = Field(default=None, pattern=r"^v\d+\.\d+$")
    notify_url: str | None = None
    require_e164: bool = False
    opt_in_categories: list[Category] | None = None
    messaging_tier: Tier | None = None
    in_doubt: InDoubt = "resend"
    notify_signing: Signing | None = None
    notify_secret: NotifySecret | None = None

    _notify = field_validator("notify_url")(valid_notify_url)


def public_app(app: dict[str, Any]) -> dict[str, Any]:
    shown = {name: app[name] for name in app_queries.PUBLIC_APP_COLUMNS}
    shown["notify_secret_set"] = bool(app.get("notify_secret"))
    if shown["messaging_tier"] is not None:
        from wanode.engine.pacing_status import shown_tier

        shown["messaging_tier"] = shown_tier(shown["messaging_tier"] or None)
    return shown


def pacing_json(status: PacingStatus) -> dict[str, Any]:
    """What `GET /v1/apps/{id}/pacing` answers (and `wanode apps pacing --json` prints)."""
    from wanode.engine.pacing_status import shown_tier

    return {
        "appid": status.app_id,
        "messaging_tier": shown_tier(status.tier),
        "messaging_tier_source": "default" if status.tier_is_default else "app",
        "new_customers": status.new_customers,
        "window_frees_at": iso(status.window_frees_at),
        "held": status.held,
        "held_total": sum(status.held.values()),
        "queued": status.queued,
    }


def public_key(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "prefix": row["prefix"],
        "app_id": row["app_id"],
        "admin": bool(row["admin"]),
        "created_at": iso(row["created_at"]),
        "revoked_at": iso(row["revoked_at"]),
    }
