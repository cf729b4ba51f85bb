"""The DR body is byte-for-byte the Webex Connect shape (reference/webex-connect.md §3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from wanode.codes import dr_for_meta_code
from wanode.codes.webex import DELIVERED, READ, SUBMITTED
from wanode.notify import additional_info, delivery_report

AT = datetime(2026, 5, 8, 16, 42, 14, 238000, tzinfo=UTC)


def report(**overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "transid": "35add3c9-6e53-4d59-a9ab-1852048f4d65_0",
        "waid": "919876543210",
        "destination": "919876543210",
        "dr": DELIVERED,
        "identity_key_hash": None,
        "correlationid": None,
        "callback_data": None,
        "occurred_at": AT,
    }
    fields.update(overrides)
    return delivery_report(**fields)


def expected(
    status: str, code: str, description: str, additional: str = "", identity_key_hash: str = ""
) -> Any:
    return {
        "deliveryInfoNotification": {
            "deliveryInfo": {
                "timeStamp": "2026-05-08T16:42:14.238+00:00",
                "waid": "919876543210",
                "destination": "919876543210",
                "destinationType": "waid",
                "deliveryChannel": "whatsapp",
                "deliveryStatus": status,
                "code": code,
                "Description": description,
                "additionalInfo": additional,
                "identityKeyHash": identity_key_hash,
            },
            "transid": "35add3c9-6e53-4d59-a9ab-1852048f4d65_0",
            "subtid": "",
            "correlationid": "",
            "callbackData": "",
        }
    }


def test_submitted() -> None:
    assert report(dr=SUBMITTED) == expected("Submitted", "7501", "Submitted")


def test_delivered() -> None:
    assert report(dr=DELIVERED) == expected("Delivered", "7500", "Delivered")


def test_read() -> None:
    assert report(dr=READ) == expected("Read", "7502", "Read")


def test_failed_with_meta_code() -> None:
    body = report(
        dr=dr_for_meta_code(131047),
        additional_info=additional_info(131047, "Re-engagement message"),
    )
    assert body == expected(
        "Failed", "7710", "Re-engagement message", "(#131047)  | Re-engagement message"
    )


def test_unknown_meta_code_is_7200() -> None:
    body = report(dr=dr_for_meta_code(999999), additional_info=additional_info(999999, "Mystery"))
    assert body == expected("Failed", "7200", "Unknown Status", "(#999999)  | Mystery")


def test_optional_values_are_carried() -> None:
    body = report(
        identity_key_hash="8VVabc=",
        correlationid="corr-1",
        callback_data="order-42",
        subtid="1f7d224c-node-3",
        destination_type="bsuid",
    )
    want = expected("Delivered", "7500", "Delivered", identity_key_hash="8VVabc=")
    root = want["deliveryInfoNotification"]
    root["deliveryInfo"]["destinationType"] = "bsuid"
    root.update(subtid="1f7d224c-node-3", correlationid="corr-1", callbackData="order-42")
    assert body == want


def test_key_order_and_casing_match_the_sample() -> None:
    text = json.dumps(report())
    assert text.startswith('{"deliveryInfoNotification": {"deliveryInfo": {"timeStamp": ')
    info = report()["deliveryInfoNotification"]["deliveryInfo"]
    assert list(info) == [
        "timeStamp",
        "waid",
        "destination",
        "destinationType",
        "deliveryChannel",
        "deliveryStatus",
        "code",
        "Description",
        "additionalInfo",
        "identityKeyHash",
    ]
    assert list(report()["deliveryInfoNotification"]) == [
        "deliveryInfo",
        "transid",
        "subtid",
        "correlationid",
        "callbackData",
    ]


def test_timestamp_keeps_the_offset_and_milliseconds() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    body = report(occurred_at=datetime(2026, 5, 8, 16, 42, 14, 238999, tzinfo=ist))
    info = body["deliveryInfoNotification"]["deliveryInfo"]
    assert info["timeStamp"] == "2026-05-08T16:42:14.238+05:30"
    whole = report(occurred_at=datetime(2026, 5, 8, 16, 42, 14, tzinfo=UTC))
    assert whole["deliveryInfoNotification"]["deliveryInfo"]["timeStamp"] == (
        "2026-05-08T16:42:14.000+00:00"
    )


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        report(occurred_at=datetime(2026, 5, 8, 16, 42, 14))


def test_additional_info_format() -> None:
    assert additional_info(131049, "Marketing limit") == "(#131049)  | Marketing limit"
