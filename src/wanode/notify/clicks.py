"""What a click on a tracked short link posts: the "Clicked" DR to the message's notify URL and
the `clicked` event to subscribers. Pure.

The reference names a "Clicked" receipt but its format was not captured
(webex-connect.md §3, GAP), so this is wanode's shape: the DR body of §3, key for key, with
`deliveryStatus` and `Description` "Clicked", an empty `code` (the reference gives Clicked no
code and wanode invents none), and the click's own fields beside them in `deliveryInfo`:
`url` (where the link led), `shortUrl`, `tag1`, `tag2` (the request's options) and `clickId`.
`timeStamp` is the time of the click. Every click is reported, each with its own `clickId`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

CLICKED: Final = "Clicked"
EVENT: Final = "clicked"
# The status a click's DR is queued under (store/deliveries.py).
DR_STATUS: Final = "clicked"


@dataclass(frozen=True)
class Click:
    """One click on one short link of the message `transid`; `tracked`: the link was sent
    with trackClicks, and the click is reported."""

    click_id: str
    code: str
    transid: str
    tracked: bool
    url: str
    short_url: str
    tag1: str | None
    tag2: str | None
    at: float


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def click_report(click: Click, message: dict[str, Any]) -> dict[str, Any]:
    """The Clicked DR for `click` on `message` (its outbox row)."""
    return {
        "deliveryInfoNotification": {
            "deliveryInfo": {
                "timeStamp": _time(click.at),
                "waid": message["wa_id"],
                "destination": message["destination"],
                "destinationType": message["destination_type"],
                "deliveryChannel": "whatsapp",
                "deliveryStatus": CLICKED,
                "code": "",
                "Description": CLICKED,
                "additionalInfo": "",
                "identityKeyHash": "",
                "url": click.url,
                "shortUrl": click.short_url,
                "tag1": click.tag1 or "",
                "tag2": click.tag2 or "",
                "clickId": click.click_id,
            },
            "transid": message["transid"],
            "subtid": "",
            "correlationid": message.get("correlationid") or "",
            "callbackData": message.get("callback_data") or "",
        }
    }


def click_event(click: Click, message: dict[str, Any]) -> dict[str, Any]:
    """The subscriber event for `click` on `message`: the common fields of §4, then the
    click's. `tid` is the click id (each event has its own), `transid` the message's."""
    return {
        "event": EVENT,
        "userId": message["wa_id"],
        "channel": "WhatsApp",
        "appId": message["app_id"],
        "waid": message["wa_id"],
        "ts": _time(click.at),
        "tid": click.click_id,
        "transid": message["transid"],
        "correlationid": message.get("correlationid") or "",
        "callbackData": message.get("callback_data") or "",
        "url": click.url,
        "shortUrl": click.short_url,
        "tag1": click.tag1 or "",
        "tag2": click.tag2 or "",
    }


def report_id(dr: dict[str, Any]) -> str:
    """What names a queued DR across its attempts (the notifier's DR-id header): its message
    and status, and for a click the click, as a message may be clicked many times."""
    name = f"{dr['transid']}:{dr['status']}"
    if dr["status"] == DR_STATUS:
        click = dr["body"]["deliveryInfoNotification"]["deliveryInfo"].get("clickId", "")
        name = f"{name}:{click}"
    return name
