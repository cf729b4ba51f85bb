"""`GET /handsets`: the handsets the sandbox has met, most recently active first, paged with
the cursors of the sandbox's other lists (`wanode.sandbox.http.paging`).

Query: `limit` (1 to 1000, 100 by default), `after` / `before` (cursors of a page before),
`phone_number_id` (only handsets that exchanged a message with that business number). Each
item: `wa_id`, `name` (the profile name), `last_activity` (ISO time of the last message the
handset sent or was sent, null if none), how many messages it `received` and `sent`, and
whether it is `online` and on WhatsApp (`exists`). Handsets that never exchanged a message
come last, the newest met first.

A cursor names a handset, and activity reorders the list: a handset that becomes active
between two pages moves to the front, and the next page may show one again or skip one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wanode.sandbox.http.paging import page
from wanode.sandbox.rules.errors import MetaError, SandboxError
from wanode.sandbox.state.handsets import Handset

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

MAX_PAGE = 1000
DEFAULT_PAGE = 100


def last_activity(handset: Handset) -> float | None:
    """When the handset last sent a message or was sent one (both lists grow in time order)."""
    times = [entry.accepted_at for entry in handset.inbox[-1:]]
    times += [sent.sent_at for sent in handset.sent[-1:]]
    return max(times, default=None)


def summary(handset: Handset) -> dict[str, Any]:
    when = last_activity(handset)
    return {
        "wa_id": handset.wa_id,
        "name": handset.name,
        "last_activity": None if when is None else datetime.fromtimestamp(when, UTC).isoformat(),
        "received": len(handset.received()),
        "sent": len(handset.sent),
        "online": handset.config.online,
        "exists": handset.config.exists,
    }


def _recent_first(handset: Handset) -> tuple[bool, float]:
    when = last_activity(handset)
    return when is None, -(when or 0.0)


def _talked_with(handset: Handset, phone_number_id: str) -> bool:
    return any(e.phone_number_id == phone_number_id for e in handset.inbox) or any(
        s.phone_number_id == phone_number_id for s in handset.sent
    )


class HandsetList:
    def __init__(self, sandbox: Platform) -> None:
        self.sandbox = sandbox

    async def handsets(self, request: Request) -> Response:
        query = request.query_params
        phone_number_id = query.get("phone_number_id")
        met = self.sandbox.handsets.all()
        if phone_number_id is not None:
            met = [handset for handset in met if _talked_with(handset, phone_number_id)]
        # Newest met first among equals: sorted() keeps the order of ties.
        ordered = sorted(reversed(met), key=_recent_first)
        try:
            answer = page(
                ordered,
                lambda handset: handset.wa_id,
                limit=query.get("limit"),
                after=query.get("after"),
                before=query.get("before"),
                max_size=MAX_PAGE,
                default_size=DEFAULT_PAGE,
            )
        except MetaError as exc:
            raise SandboxError(400, exc.details) from exc
        answer["data"] = [summary(handset) for handset in answer["data"]]
        return JSONResponse(answer)
