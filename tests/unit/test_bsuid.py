"""Business-scoped user ids (BSUIDs) in the pure layers: their form, webhooks that carry them
(`contacts[].user_id`, statuses' `contacts`), the `recipient` a send to one renders, and the
DR that names one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wanode.codes import SYNC
from wanode.codes.webex import READ
from wanode.events import StatusUpdate, parse_webhook
from wanode.messages import InvalidMessage, parse_wa, render_payload
from wanode.notify import delivery_report
from wanode.policy import check_bsuid, is_bsuid

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
BSUID = "US.13491208655302741918"


@pytest.mark.parametrize(
    "value", [BSUID, "BR.1502576394655843", "IN.abcXYZ09", "US." + "1" * 125, "  DE.7  "]
)
def test_bsuids_in_metas_form_are_taken_as_given(value: str) -> None:
    assert check_bsuid(value) == value.strip()


@pytest.mark.parametrize(
    ("value", "code", "reason"),
    [
        ("", SYNC.MANDATORY_MISSING, "is empty"),
        ("us.123", SYNC.INVALID_VALUE, "two-letter country code"),
        ("USA.123", SYNC.INVALID_VALUE, "two-letter country code"),
        ("US.ENT.11815799212886844830", SYNC.INVALID_VALUE, "two-letter country code"),
        ("US.", SYNC.INVALID_VALUE, "two-letter country code"),
        ("US.12-34", SYNC.INVALID_VALUE, "two-letter country code"),
        ("16505551234", SYNC.INVALID_VALUE, "two-letter country code"),
        ("US." + "1" * 126, SYNC.INVALID_VALUE, "longer than 128"),
    ],
)
def test_anything_else_is_refused_with_the_field(value: str, code: str, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        check_bsuid(value, field="destination[0].bsuid[0]")
    assert caught.value.code == code
    assert caught.value.field == "destination[0].bsuid[0]"
    assert reason in caught.value.reason


def test_what_webhooks_say_is_kept_only_in_form() -> None:
    assert is_bsuid(BSUID) and is_bsuid("US." + "1" * 128)
    assert not is_bsuid("US." + "1" * 138) and not is_bsuid(12) and not is_bsuid(None)


def _status_body(contacts: Any, **status: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "statuses_batch.json").read_text())
    body["entry"] = body["entry"][:1]  # one value, one number's statuses
    body["entry"][0]["changes"] = body["entry"][0]["changes"][:1]
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"] = contacts
    for entry in value["statuses"]:
        entry.update(status)
    return body


def _statuses(body: dict[str, Any]) -> list[StatusUpdate]:
    found = [e for e in parse_webhook(body) if isinstance(e, StatusUpdate)]
    assert found
    return found


def test_a_status_names_its_recipients_bsuid_from_the_values_contacts() -> None:
    body = _status_body([])
    recipients = {s["recipient_id"] for s in body["entry"][0]["changes"][0]["value"]["statuses"]}
    contacts = [
        {"wa_id": wa_id, "user_id": f"US.{i}"} for i, wa_id in enumerate(sorted(recipients))
    ]
    body["entry"][0]["changes"][0]["value"]["contacts"] = contacts
    by_number = {c["wa_id"]: c["user_id"] for c in contacts}
    for update in _statuses(body):
        assert update.bsuid == by_number[update.recipient_id]


def test_a_single_contact_is_every_statuss_recipient_and_recipient_user_id_wins() -> None:
    alone = _statuses(_status_body([{"wa_id": "someone-else", "user_id": BSUID}]))
    assert {u.bsuid for u in alone} == {BSUID}
    own = _statuses(_status_body([{"wa_id": "x", "user_id": BSUID}], recipient_user_id="GB.42"))
    assert {u.bsuid for u in own} == {"GB.42"}


def test_user_ids_are_read_tolerantly() -> None:
    odd = _statuses(_status_body([{"wa_id": "x", "user_id": 12345}]))
    assert {u.bsuid for u in odd} == {None}
    none = _statuses(_status_body([]))
    assert {u.bsuid for u in none} == {None}


def test_a_send_to_a_bsuid_uses_recipient_instead_of_to() -> None:
    message = parse_wa({"type": "text", "text": {"body": "hi"}})
    payload = render_payload(message, BSUID, by_bsuid=True)
    assert payload["recipient"] == BSUID and "to" not in payload
    assert payload["recipient_type"] == "individual" and payload["type"] == "text"
    assert render_payload(message, "16505551234")["to"] == "16505551234"


def test_a_dr_names_the_bsuid_after_the_waid_when_known() -> None:
    at = datetime(2026, 5, 8, 16, 42, 14, tzinfo=UTC)
    fields: dict[str, Any] = {
        "transid": "t_0",
        "waid": "919876543210",
        "destination": "IN.2146",
        "destination_type": "bsuid",
        "dr": READ,
        "identity_key_hash": None,
        "correlationid": None,
        "callback_data": None,
        "occurred_at": at,
    }
    info = delivery_report(bsuid="IN.2146", **fields)["deliveryInfoNotification"]["deliveryInfo"]
    assert list(info)[:5] == ["timeStamp", "waid", "bsuid", "destination", "destinationType"]
    assert (info["bsuid"], info["destinationType"]) == ("IN.2146", "bsuid")
    unknown = delivery_report(**fields)["deliveryInfoNotification"]["deliveryInfo"]
    assert "bsuid" not in unknown
