"""`GET /v1/messages/{transid}`: a message, its current status and its full history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from wanode.api._time import iso
from wanode.api.auth import require_key
from wanode.api.context import Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.store import messages as outbox

router = APIRouter(dependencies=[Depends(require_key)])


@router.get("/v1/messages/{transid}")
async def get_message(transid: str, ctx: Context = Depends(context)) -> dict[str, Any]:
    async with ctx.db.begin() as conn:
        message = await outbox.get(conn, transid)
        if message is None:
            raise ApiError(SYNC.NOT_FOUND, f"no message with transid {transid}", field="transid")
        history = await outbox.history(conn, transid)
        deliveries = await outbox.deliveries(conn, transid)
    error = None
    if message["error_code"] is not None or message["error_title"]:
        error = {
            "code": message["error_code"],
            "title": message["error_title"],
            "details": message["error_details"],
        }
    return {
        "transid": message["transid"],
        "appid": message["app_id"],
        "destination": message["destination"],
        "destinationType": message["destination_type"],
        "waid": message["wa_id"],
        "type": message["kind"],
        "status": message["status"],
        "wamid": message["wamid"],
        "attempts": message["attempts"],
        "error": error,
        "correlationid": message["correlationid"],
        "callbackData": message["callback_data"],
        "notifyurl": message["notify_url"],
        "createdAt": iso(message["created_at"]),
        "expiry": iso(message["expires_at"]),
        "payload": message["payload"],
        "history": [
            {
                "status": h["status"],
                "at": iso(h["occurred_at"]),
                "source": h["source"],
                **(
                    {
                        "error": {
                            "code": h["error_code"],
                            "title": h["error_title"],
                            "details": h["error_details"],
                        }
                    }
                    if h["error_title"]
                    else {}
                ),
            }
            for h in history
        ],
        "deliveryReports": [
            {
                "status": d["status"],
                "code": d["body"]["deliveryInfoNotification"]["deliveryInfo"]["code"],
                "state": d["state"],
                "attempts": d["attempts"],
                "lastStatusCode": d["last_status_code"],
                "lastError": d["last_error"],
            }
            for d in deliveries
        ],
    }
