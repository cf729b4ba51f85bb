"""The Overview page: per app, counts by status and failures by code, and a chart of sent /
delivered / read / failed per minute over the last hour, drawn on the server as inline SVG;
refreshed by htmx polling."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from wanode.api.context import Context, context
from wanode.console.render import page
from wanode.console.session import ConsoleSession, require_session
from wanode.store import apps as app_queries
from wanode.store import message_log

router = APIRouter(prefix="/console", include_in_schema=False)

STATUSES = ("queued", "submitted", "sent", "delivered", "read", "failed")
MINUTES = 60
POLL = "5s"
# The chart's drawing box, in SVG user units.
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 1000, 220, 40, 22, 12


@dataclass(frozen=True)
class Line:
    status: str
    points: str
    total: int


def chart(series: dict[str, dict[int, int]], first_minute: int) -> dict[str, Any]:
    """Polylines (SVG points) of each status's count per minute, from `first_minute` on, and
    the scale's top value."""
    top = max([1, *(n for counts in series.values() for n in counts.values())])
    step = (WIDTH - LEFT) / (MINUTES - 1)
    lines = []
    for status in message_log.CHART_STATUSES:
        counts = series.get(status, {})
        points = []
        for i in range(MINUTES):
            n = counts.get(first_minute + i, 0)
            x = LEFT + i * step
            y = TOP + (HEIGHT - TOP - BOTTOM) * (1 - n / top)
            points.append(f"{x:.1f},{y:.1f}")
        lines.append(Line(status, " ".join(points), sum(counts.values())))
    return {
        "lines": lines,
        "top": top,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "base": HEIGHT - BOTTOM,
        "ceiling": TOP,
    }


async def _data(ctx: Context, session: ConsoleSession) -> dict[str, Any]:
    caller = session.caller
    app_ids = None if caller.admin else [caller.app_id or ""]
    now = ctx.engine.clock()
    first_minute = int(now // 60) - (MINUTES - 1)
    async with ctx.db.begin() as conn:
        apps = [a for a in await app_queries.list_apps(conn) if caller.may_act_on(a["id"])]
        counts = await message_log.counts_by_status(conn, app_ids)
        failures = await message_log.failures_by_code(conn, app_ids)
        series = await message_log.per_minute(
            conn, app_ids, since=first_minute * 60.0, until=now + 60
        )
    rows = [
        {
            "id": app["id"],
            "name": app["name"],
            "counts": {s: counts.get(app["id"], {}).get(s, 0) for s in STATUSES},
            "total": sum(counts.get(app["id"], {}).values()),
            "failures": failures.get(app["id"], []),
        }
        for app in apps
    ]
    return {
        "apps": rows,
        "statuses": STATUSES,
        "chart": chart(series, first_minute),
        "updated": time.time(),
        "poll": POLL,
    }


@router.get("")
async def overview(
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(require_session),
) -> HTMLResponse:
    return page(request, session, "overview.html", **await _data(ctx, session))


@router.get("/overview/live")
async def overview_live(
    request: Request,
    ctx: Context = Depends(context),
    session: ConsoleSession = Depends(require_session),
) -> HTMLResponse:
    return page(request, session, "overview_live.html", **await _data(ctx, session))
