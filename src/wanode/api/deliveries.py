"""`/v1/delivery-reports`: the DRs given up after their last retry (the dead letters), and
sending them again, one by one or all at once."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from wanode.api._time import iso
from wanode.api.auth import require_key, scope
from wanode.api.context import Caller, Context, context
from wanode.store import deliveries

router = APIRouter(dependencies=[Depends(require_key)])

# A DR id is at most a 64-bit integer, which the database would refuse past; 2**53 - 1 keeps
# the bound exact as a JSON number (in the OpenAPI document) and is out of reach of any id.
MAX_DR_ID = 2**53 - 1
DrId = Annotated[int, Field(ge=1, le=MAX_DR_ID)]


class Replay(BaseModel):
    """Which given-up DRs to queue again: `ids`, or `all` (of one app's messages with
    `appid`)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[DrId] | None = Field(default=None, min_length=1, max_length=1000)
    all: bool = False
    appid: str | None = None

    @model_validator(mode="after")
    def _one_choice(self) -> Replay:
        if (self.ids is None) == (not self.all):
            raise ValueError("give either `ids` or `all: true`")
        return self


@router.get("/v1/delivery-reports")
async def list_given_up(
    ctx: Context = Depends(context),
    appid: str | None = None,
    before: int | None = Query(
        default=None, ge=1, le=MAX_DR_ID, description="the `id` to page on from"
    ),
    limit: int = Query(default=100, ge=1, le=1000),
    state: Literal["given_up", "parked"] = Query(
        default="given_up",
        description="given_up: after their last retry; parked: waiting for their "
        "notifyurlAuthId profile to exist",
    ),
    caller: Caller = Depends(require_key),
) -> dict[str, Any]:
    """DRs given up after their last retry, or parked for want of their auth profile, newest
    first (the others are on their message, `GET /v1/messages/{transid}`)."""
    async with ctx.db.begin() as conn:
        rows = await deliveries.given_up(
            conn, app_id=scope(caller, appid), before_id=before, limit=limit, state=state
        )
    return {
        "deliveryReports": [
            {
                "id": row["id"],
                "transid": row["transid"],
                "appid": row["app_id"],
                "status": row["status"],
                "code": row["body"]["deliveryInfoNotification"]["deliveryInfo"]["code"],
                "url": row["url"],
                "state": row["state"],
                "notifyurlAuthId": row["auth_id"],
                "attempts": row["attempts"],
                "lastStatusCode": row["last_status_code"],
                "lastError": row["last_error"],
                "createdAt": iso(row["created_at"]),
                "finishedAt": iso(row["finished_at"]),
            }
            for row in rows
        ]
    }


@router.post("/v1/delivery-reports/replay")
async def replay(
    body: Replay, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, int]:
    """Queue given-up DRs again; each gets the full retries anew. A DR replayed after its
    message's later DRs went out arrives after them: its `timeStamp` says when it happened."""
    async with ctx.db.begin() as conn:
        queued = await deliveries.replay(
            conn, ids=body.ids, app_id=scope(caller, body.appid), at=ctx.engine.clock()
        )
    if queued:
        ctx.engine.wake("notify")
    return {"replayed": queued}
