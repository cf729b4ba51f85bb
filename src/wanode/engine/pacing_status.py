"""An app's messaging tier, and how much pacing holds back: what `GET /v1/apps/{id}/pacing` and
`wanode apps pacing` show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.config import Settings
from wanode.store import pacing as pacing_queries

HELD_REASONS = ("tier", "pacing")


def tier_of(app: dict[str, Any], settings: Settings) -> int | None:
    """The app's tier (None: unlimited): its own, else WANODE_MESSAGING_TIER."""
    own = app.get("messaging_tier")
    if own is not None:
        return own or None  # stored 0 is unlimited
    default = settings.messaging_tier
    return None if default == "unlimited" else default


def stored_tier(value: int | str | None) -> int | None:
    """A tier as the API takes it (a number, "unlimited", or None for the default) as stored."""
    if value == "unlimited":
        return 0
    return None if value is None else int(value)


def shown_tier(tier: int | None) -> int | str:
    return "unlimited" if tier is None else tier


@dataclass(frozen=True)
class PacingStatus:
    """`tier` None is unlimited; `held` counts queued messages by `HELD_REASONS`; `queued`
    counts all the app's queued messages (held, waiting for a retry, or due)."""

    app_id: str
    tier: int | None
    tier_is_default: bool
    new_customers: int
    window_frees_at: float | None
    held: dict[str, int]
    queued: int


async def pacing_status(
    conn: AsyncConnection, app: dict[str, Any], settings: Settings, *, now: float
) -> PacingStatus:
    reach = await pacing_queries.reach(conn, app["id"], now=now)
    held = await pacing_queries.held(conn, app["id"])
    return PacingStatus(
        app_id=app["id"],
        tier=tier_of(app, settings),
        tier_is_default=app.get("messaging_tier") is None,
        new_customers=reach.reached,
        window_frees_at=reach.frees_at,
        held={reason: held.get(reason, 0) for reason in HELD_REASONS},
        queued=await pacing_queries.queued(conn, app["id"]),
    )


async def release_held(
    conn: AsyncConnection, app: dict[str, Any], settings: Settings, *, now: float
) -> int:
    """After the app's tier changed: make due, oldest first, the messages the tier held that
    the new tier has room for (all of them when it is unlimited); returns how many."""
    return await pacing_queries.release(conn, app["id"], limit=tier_of(app, settings), now=now)
