"""`/v1/delivery-reports`: the DRs given up after their last retry (the dead letters), and
sending them again, one by one or all at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from wanode.api._time import iso
from wanode.api.auth import require_key
from wanode.api.context import Context, context
from wanode.store import deliveries

router = APIRouter(dependencies=[Depends(require_key)])


class Replay(BaseModel):
    """Which given-up DRs to queue again: `ids`, or `all` (of one app's messages with
    `appid`)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = Field(default=None, min_length=1, max_length=1000)
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
    before: int | None = Query(default=None, description="the `id` to page on from"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    """DRs given up after their last retry, newest first (`state=given_up` is the only state
    listed: the others are on their message, `GET /v1/messages/{transid}`)."""
    async with ctx.db.begin() as conn:
        rows = await deliveries.given_up(conn, app_id=appid, before_id=before, limit=limit)
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
async def replay(body: Replay, ctx: Context = Depends(context)) -> dict[str, int]:
    """Queue given-up DRs again; each gets the full retries anew. A DR replayed after its
    message's later DRs went out arrives after them: its `timeStamp` says when it happened."""
    async with ctx.db.begin() as conn:
        queued = await deliveries.replay(
            conn, ids=body.ids, app_id=body.appid, at=ctx.engine.clock()
        )
    if queued:
        ctx.engine.wake("notify")
    return {"replayed": queued}
