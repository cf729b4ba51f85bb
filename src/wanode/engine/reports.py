"""Recording a status on a message, and the delivery report it fires."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.codes import DrCode, dr_for_meta_code
from wanode.codes import webex as codes
from wanode.notify.payload import additional_info, delivery_report
from wanode.store import deliveries, lifecycle
from wanode.store import messages as outbox


@dataclass(frozen=True)
class Failure:
    """Why a message failed: the DR code reported, and Meta's error when there is one."""

    dr: DrCode
    meta_code: int | None
    title: str
    details: str = ""

    @classmethod
    def from_meta(cls, code: int, title: str, details: str = "") -> Failure:
        return cls(dr_for_meta_code(code), code, title, details)


_DR_BY_STATUS = {
    lifecycle.SUBMITTED: codes.SUBMITTED,
    lifecycle.DELIVERED: codes.DELIVERED,
    lifecycle.READ: codes.READ,
}


async def record(
    conn: AsyncConnection,
    message: dict[str, Any],
    status: str,
    *,
    at: float,
    now: float,
    source: str,
    failure: Failure | None = None,
    wamid: str | None = None,
    identity_key_hash: str | None = None,
    bsuid: str | None = None,
) -> bool:
    """Append `status` to the message's history; if it moved the message forward, queue its DR.

    `sent` has no DR code of its own in the Messaging API (7501 "Submitted" is reported when
    the gateway accepts the message), so it is recorded in the history only. A `read` for a
    message never marked `delivered` implies it: its 7500 is queued before its 7502, and a late
    `delivered` then reports nothing (`record_many`).
    """
    if status == lifecycle.READ:
        # A read may imply the delivery too (`record_many` reports both).
        recording = Recording(message, status, at, failure, wamid, identity_key_hash, bsuid)
        (moved,) = await record_many(conn, [recording], now=now, source=source)
        return moved
    error = None
    if failure is not None:
        error = (failure.meta_code, failure.title, failure.details)
    advanced = await outbox.record_status(
        conn,
        message["transid"],
        status,
        at=at,
        recorded_at=now,
        source=source,
        error=error,
        wamid=wamid,
    )
    if not advanced:
        return False
    report = _report(Recording(message, status, at, failure, wamid, identity_key_hash, bsuid))
    if report is not None:
        url, body = report
        await deliveries.enqueue(
            conn,
            transid=message["transid"],
            status=status,
            url=url,
            body=body,
            at=now,
            app_id=message.get("app_id"),
            auth_id=message.get("notify_auth_id"),
        )
    return True


@dataclass(frozen=True)
class Recording:
    """One `record` call's arguments, for `record_many`."""

    message: dict[str, Any]
    status: str
    at: float
    failure: Failure | None = None
    wamid: str | None = None
    identity_key_hash: str | None = None
    # The recipient's business-scoped user id as a status webhook gave it.
    bsuid: str | None = None


async def record_many(
    conn: AsyncConnection, recordings: Sequence[Recording], *, now: float, source: str
) -> list[bool]:
    """`record` for many statuses in a handful of statements (one flag each, in order)."""
    updates = [
        outbox.StatusUpdate(
            r.message["transid"],
            r.status,
            r.at,
            (r.failure.meta_code, r.failure.title, r.failure.details) if r.failure else None,
            r.wamid,
        )
        for r in recordings
    ]
    implied: list[int] = []
    advanced = await outbox.record_statuses(
        conn, updates, recorded_at=now, source=source, implied=implied
    )
    reports: list[dict[str, Any]] = []
    if implied:
        # A read that implied the delivery: its 7500 first, then its 7502.
        expanded: list[Recording] = []
        flags: list[bool] = []
        delivered = set(implied)
        for index, (recording, moved) in enumerate(zip(recordings, advanced, strict=True)):
            if index in delivered:
                expanded.append(replace(recording, status=lifecycle.DELIVERED, failure=None))
                flags.append(True)
            expanded.append(recording)
            flags.append(moved)
        _add_reports(reports, expanded, flags)
    else:
        _add_reports(reports, recordings, advanced)
    await deliveries.enqueue_many(conn, reports, at=now)
    return advanced


def _add_reports(
    reports: list[dict[str, Any]], recordings: Sequence[Recording], advanced: Sequence[bool]
) -> None:
    """The DRs the recordings that moved their message fire, appended to `reports`."""
    for recording, moved in zip(recordings, advanced, strict=True):
        report = _report(recording) if moved else None
        if report is not None:
            url, body = report
            transid = recording.message["transid"]
            reports.append(
                {
                    "transid": transid,
                    "status": recording.status,
                    "url": url,
                    "body": body,
                    "app_id": recording.message.get("app_id"),
                    "auth_id": recording.message.get("notify_auth_id"),
                }
            )


def _report(r: Recording) -> tuple[str, dict[str, Any]] | None:
    """The notify URL and DR body a status that moved the message forward fires, if any."""
    failure, message = r.failure, r.message
    dr = failure.dr if failure is not None else _DR_BY_STATUS.get(r.status)
    url = message.get("notify_url")
    if dr is None or not url:
        return None
    info = ""
    if failure is not None:
        info = (
            additional_info(failure.meta_code, failure.details or failure.title)
            if failure.meta_code is not None
            else failure.details or failure.title
        )
    body = delivery_report(
        transid=message["transid"],
        waid=message["wa_id"],
        destination=message["destination"],
        destination_type=message["destination_type"],
        bsuid=message["destination"] if message["destination_type"] == "bsuid" else r.bsuid,
        dr=dr,
        additional_info=info,
        identity_key_hash=r.identity_key_hash,
        correlationid=message.get("correlationid"),
        callback_data=message.get("callback_data"),
        occurred_at=datetime.fromtimestamp(r.at, UTC),
        possibly_duplicated=bool(message.get("possibly_duplicated")),
    )
    return url, body
