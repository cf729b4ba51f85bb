"""Users who hide their number behind a username: WhatsApp names them by BSUID alone (a contact
with `user_id` and no `wa_id`, a message with no `from`, a status with `recipient_user_id` and
no `recipient_id`). Such webhooks parse, and their events carry the BSUID and an empty number.
"""

from __future__ import annotations

from typing import Any

import pytest

from wanode.events import InboundMessage, MalformedWebhook, StatusUpdate, parse_webhook
from wanode.notify.events import inbound_event

BSUID = "US.13491208655302741918"
OTHER = "BR.1502576394655843"


def _webhook(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def _text(wamid: str, **sender: str) -> dict[str, Any]:
    return {
        **sender,
        "id": wamid,
        "timestamp": "1750000000",
        "type": "text",
        "text": {"body": "hello"},
    }


def _messages(body: dict[str, Any]) -> list[InboundMessage]:
    return [e for e in parse_webhook(body) if isinstance(e, InboundMessage)]


def test_a_message_from_a_user_whose_number_is_hidden_parses_with_its_bsuid() -> None:
    body = _webhook(
        {
            "contacts": [{"profile": {"name": "@ana"}, "user_id": BSUID}],
            "messages": [_text("wamid.HIDDEN")],
        }
    )
    [message] = _messages(body)
    assert (message.from_wa_id, message.bsuid, message.profile_name) == ("", BSUID, "@ana")
    assert message.text == "hello"


def test_a_number_in_the_contact_stands_in_for_a_missing_from() -> None:
    body = _webhook(
        {
            "contacts": [{"wa_id": "16505551234", "user_id": BSUID}],
            "messages": [_text("wamid.NOFROM")],
        }
    )
    [message] = _messages(body)
    assert (message.from_wa_id, message.bsuid) == ("16505551234", BSUID)


def test_several_senders_are_told_apart_by_from_user_id() -> None:
    body = _webhook(
        {
            "contacts": [
                {"profile": {"name": "Ana"}, "user_id": BSUID},
                {"profile": {"name": "Bo"}, "wa_id": "447700900123", "user_id": OTHER},
            ],
            "messages": [
                _text("wamid.A", from_user_id=BSUID),
                _text("wamid.B", **{"from": "447700900123", "from_user_id": OTHER}),
                _text("wamid.C", from_user_id=OTHER),  # no `from`: the contact's number
                _text("wamid.D"),  # nothing names the sender: kept, with no profile
            ],
        }
    )
    found = {m.wamid: (m.from_wa_id, m.bsuid, m.profile_name) for m in _messages(body)}
    assert found == {
        "wamid.A": ("", BSUID, "Ana"),
        "wamid.B": ("447700900123", OTHER, "Bo"),
        "wamid.C": ("447700900123", OTHER, "Bo"),
        "wamid.D": ("", None, None),
    }


def test_the_forwarded_event_carries_the_bsuid_and_an_empty_waid() -> None:
    body = _webhook({"contacts": [{"user_id": BSUID}], "messages": [_text("wamid.FWD")]})
    [message] = _messages(body)
    event = inbound_event(message, app_id="app-1")
    assert (event["waid"], event["bsuid"], event["message"]) == ("", BSUID, "hello")
    assert event["tid"] == "wamid.FWD"


def test_a_status_without_recipient_id_names_its_recipient_by_bsuid() -> None:
    status = {"id": "wamid.S1", "status": "delivered", "timestamp": "1750000000"}
    own = _webhook({"statuses": [{**status, "recipient_user_id": BSUID}]})
    by_contact = _webhook({"contacts": [{"user_id": OTHER}], "statuses": [status]})
    for body, bsuid in ((own, BSUID), (by_contact, OTHER)):
        [update] = [e for e in parse_webhook(body) if isinstance(e, StatusUpdate)]
        assert (update.recipient_id, update.bsuid, update.status) == ("", bsuid, "delivered")


def test_what_stays_required_is_still_refused_with_its_path() -> None:
    """Relaxed are only the fields WhatsApp withholds; a wrong type is still malformed."""
    wrong = _webhook({"contacts": [{"user_id": BSUID}], "messages": [_text("w", **{"from": 7})]})
    with pytest.raises(MalformedWebhook, match=r"messages\[0\]\.from"):
        parse_webhook(wrong)
    status = {"id": "wamid.S1", "status": "read", "timestamp": "1750000000", "recipient_id": 7}
    with pytest.raises(MalformedWebhook, match=r"statuses\[0\]\.recipient_id"):
        parse_webhook(_webhook({"statuses": [status]}))
