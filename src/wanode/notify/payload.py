"""The delivery-report (DR) JSON posted to notify URLs (reference/webex-connect.md §3). Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wanode.codes import DrCode


def delivery_report(
    *,
    transid: str,
    waid: str,
    destination: str,
    destination_type: str = "waid",
    bsuid: str | None = None,
    dr: DrCode,
    additional_info: str = "",
    identity_key_hash: str | None,
    correlationid: str | None,
    callback_data: str | None,
    occurred_at: datetime,
    subtid: str = "",
    possibly_duplicated: bool = False,
) -> dict[str, Any]:
    """The DR body, key for key and in the order of the reference sample.

    Receivers parse this with code written against Webex Connect, so the mixed key casing
    (`timeStamp`, `Description`) is kept and absent values are empty strings, never null or
    missing. `bsuid`, the recipient's business-scoped user id, follows `waid` when it is
    known (the destination was one, or WhatsApp's status webhook named it) and is left out
    otherwise; `destinationType` is then `bsuid` or `waid` as the request addressed it.
    `waidNormalized` is left out: we have no normalisation flag, and an invented placeholder
    would tell the receiver something false; its absence is what a receiver sees from senders
    without the feature.

    `occurred_at` must be timezone-aware; its offset is kept, as in the sample.

    `possibly_duplicated` (WhatsApp may have taken the message twice: a retry after an
    ambiguous answer, or a send a crash left unanswered) adds `"possiblyDuplicated": true`;
    the key is absent otherwise, so a report looks as the reference's sample does.
    """
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    info: dict[str, Any] = {
        "timeStamp": occurred_at.isoformat(timespec="milliseconds"),
        "waid": waid,
    }
    if bsuid:
        info["bsuid"] = bsuid
    report: dict[str, Any] = {
        "deliveryInfoNotification": {
            "deliveryInfo": {
                **info,
                "destination": destination,
                "destinationType": destination_type,
                "deliveryChannel": "whatsapp",
                "deliveryStatus": dr.delivery_status,
                "code": dr.code,
                "Description": dr.description,
                "additionalInfo": additional_info,
                "identityKeyHash": identity_key_hash or "",
            },
            "transid": transid,
            "subtid": subtid,
            "correlationid": correlationid or "",
            "callbackData": callback_data or "",
        }
    }
    if possibly_duplicated:
        report["deliveryInfoNotification"]["possiblyDuplicated"] = True
    return report


def additional_info(meta_code: int, text: str) -> str:
    """Meta's code and text as Webex Connect forwards them: `(#131047)  | Re-engagement message`
    (two spaces before the bar, as in every published sample)."""
    return f"(#{meta_code})  | {text}"
