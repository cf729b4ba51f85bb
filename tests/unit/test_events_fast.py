"""`parse_webhook`'s shortcut for status-only webhooks (events.statuses.statuses_only) gives
exactly what its general path (`parse_any`) gives, and stands aside for anything else."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from wanode.events import MalformedWebhook, StatusUpdate, parse_webhook
from wanode.events.envelope import parse_any
from wanode.events.statuses import statuses_only

PNID = "123456789"


def status(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "wamid.A",
        "status": "delivered",
        "timestamp": "1750000000",
        "recipient_id": "4915112345678",
        "pricing": {"billable": False, "category": "service", "nested": [{"x": [1, 2.5]}]},
    }
    item.update(changes)
    return {k: v for k, v in item.items() if v is not None}


def webhook(*statuses: Any, entries: int = 1, **value: Any) -> dict[str, Any]:
    change = {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": PNID},
            "statuses": list(statuses),
            **value,
        },
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": str(i), "changes": [change, change]} for i in range(entries)],
    }


CONTACT = {"wa_id": "4915112345678", "user_id": "DE.123abc", "profile": {"name": "Ann"}}

# Bodies the shortcut reads.
FAST = [
    webhook(status()),
    webhook(status(), status(id="wamid.B", status="read", timestamp=1750000001), entries=3),
    webhook(),
    webhook(status(recipient_user_id="DE.999", recipient_identity_key_hash="h")),
    webhook(status(recipient_id=None, recipient_user_id="DE.999")),
    webhook(status(biz_opaque_callback_data="cb", recipient_user_id=7)),
    webhook(status(status="some-new-status", timestamp="0")),
    webhook(status(timestamp="000000000012")),
    webhook(status(), contacts=[CONTACT]),
    webhook(status(recipient_id="491"), contacts=[CONTACT]),
    webhook(status(), contacts=[CONTACT, {"wa_id": "4915112345679", "user_id": "DE.2"}]),
    webhook(status(recipient_id="0"), contacts=[{"wa_id": "1"}, {"wa_id": "2"}]),
    webhook(status(), contacts=[{"user_id": ""}, {"wa_id": None, "profile": None}]),
    {"object": "whatsapp_business_account", "entry": []},
    {"entry": [{"changes": []}]},
    {
        "entry": [
            {"changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "1"}}}]}
        ]
    },
]

# Bodies the shortcut leaves to the general path: other kinds, or a wrong shape somewhere.
OTHER = [
    webhook(status(errors=[{"code": 131026, "title": "Undeliverable"}])),
    webhook(status(), errors=[{"code": 130429, "title": "Rate limit hit"}]),
    webhook(
        messages=[{"from": "4915112345678", "id": "wamid.M", "timestamp": "1", "type": "text"}],
        contacts=[CONTACT],
    ),
    {"entry": [{"changes": [{"field": "account_update", "value": {"x": 1}}]}]},
    [],
    {"entry": None},
    {"entry": {}},
    {"entry": [5]},
    {"entry": [{"changes": None}]},
    {"entry": [{"changes": [{"field": 5, "value": {}}]}]},
    {"entry": [{"changes": [{"field": "messages", "value": []}]}]},
    {"entry": [{"changes": [{"field": "messages", "value": {"metadata": {}}}]}]},
    {"entry": [{"changes": [{"field": "messages", "value": {"metadata": 5}}]}]},
    webhook(status(id=None)),
    webhook(status(id=5)),
    webhook(status(status=True)),
    webhook(status(timestamp=None)),
    webhook(status(timestamp="")),
    webhook(status(timestamp="1e9")),
    webhook(status(timestamp="١٢٣")),  # Arabic-Indic digits: str.isdigit() says yes
    webhook(status(timestamp="1234567890123")),
    webhook(status(timestamp=-1)),
    webhook(status(timestamp=True)),
    webhook(status(timestamp=1.5)),
    webhook(status(timestamp=10**12)),
    webhook(status(timestamp="999999999999")),  # past datetime's range
    webhook(status(recipient_id=5)),
    webhook(status(recipient_identity_key_hash=[])),
    webhook(status(biz_opaque_callback_data={})),
    webhook(5),
    webhook(statuses={}),
    webhook(status(), contacts={}),
    webhook(status(), contacts=[5]),
    webhook(status(), contacts=[{"wa_id": 5}]),
    webhook(status(), contacts=[{"profile": "Ann"}]),
    webhook(status(), contacts=[{"profile": {"name": 5}}]),
    webhook(status(), contacts=[{"identity_key_hash": 5}]),
]


def outcome(parse: Any, body: Any) -> Any:
    try:
        events = parse(copy.deepcopy(body))
    except MalformedWebhook as exc:
        return ("malformed", str(exc))
    return [(event, getattr(event, "raw", None)) for event in events]


@pytest.mark.parametrize("body", FAST)
def test_the_shortcut_reads_what_the_general_path_reads(body: Any) -> None:
    assert statuses_only(copy.deepcopy(body)) is not None
    fast = outcome(parse_webhook, body)
    assert fast == outcome(parse_any, body)
    for event, raw in fast:
        assert isinstance(event, StatusUpdate) and raw is not None
        assert dict(raw) in [
            s for e in body["entry"] for c in e["changes"] for s in c["value"]["statuses"]
        ]


@pytest.mark.parametrize("body", OTHER)
def test_anything_else_is_left_to_the_general_path(body: Any) -> None:
    assert statuses_only(copy.deepcopy(body)) is None
    assert outcome(parse_webhook, body) == outcome(parse_any, body)


def test_events_keep_their_own_copy_of_the_status() -> None:
    body = webhook(status())
    [first, _] = parse_webhook(body)
    assert isinstance(first, StatusUpdate)
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"]["nested"][0]["x"].append(3)
    assert first.raw["pricing"]["nested"][0]["x"] == [1, 2.5]
    with pytest.raises(TypeError):
        first.raw["id"] = "changed"  # type: ignore[index]
