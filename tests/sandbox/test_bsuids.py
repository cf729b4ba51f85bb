"""Business-scoped user ids (BSUIDs) in the sandbox, as Meta has them since 2026: each handset
has a stable `user_id` per business, inbound webhooks carry it in `contacts[]`, status webhooks
carry `contacts` with the recipient's `wa_id` and `user_id`, and a send may address the user by
`recipient` instead of `to`. Every webhook here is checked against Meta's OpenAPI document on
leaving the bench (`open_bench`), and pywa 4.5 parses each into its typed objects."""

from __future__ import annotations

import json
import re
from typing import Any

from pywa import WhatsApp
from pywa import types as pywa_types
from tests.sandbox.bench import NUMBER, USER, Bench, assert_meta_error, text_payload

from wanode.sandbox.rules.bsuid import user_id, wa_id_of

# pywa 4.5's test for a BSUID (`pywa.types.sent_update._BSUID_RE`): a user_id it would not
# recognise is sent as `to`, not `recipient`.
PYWA_BSUID = re.compile(r"^[A-Z]{2}\.\d+$")
BSUID = user_id(USER, NUMBER.waba_id)


def test_a_handsets_bsuid_is_stable_per_business_and_names_its_number() -> None:
    assert PYWA_BSUID.fullmatch(BSUID) and BSUID.startswith("US.")
    assert user_id(USER, NUMBER.waba_id) == BSUID  # no state: the same after a restart
    assert user_id("4915112345678", NUMBER.waba_id).startswith("DE.")
    other = user_id(USER, "999999999")
    assert other != BSUID and PYWA_BSUID.fullmatch(other)
    assert wa_id_of(BSUID, NUMBER.waba_id) == USER
    assert wa_id_of(BSUID, "999999999") is None  # another business's BSUID names no one here
    assert wa_id_of("US.13491208655302741918", NUMBER.waba_id) is None
    assert wa_id_of("not-a-bsuid", NUMBER.waba_id) is None


def _pywa() -> tuple[WhatsApp, list[Any]]:
    """pywa's client without a server: its webhook handler, fed the bodies the receiver took."""
    wa = WhatsApp(
        phone_id=NUMBER.phone_number_id,
        token=NUMBER.access_token,
        waba_id=NUMBER.waba_id,
        server=None,
        verify_token="unused",
        app_secret=NUMBER.app_secret,
    )
    parsed: list[Any] = []
    wa.on_message()(lambda _, message: parsed.append(message))
    wa.on_message_status()(lambda _, status: parsed.append(status))
    return wa, parsed


def _parse(bodies: list[dict[str, Any]]) -> list[Any]:
    wa, parsed = _pywa()
    for body in bodies:
        assert wa.webhook_update_handler(json.dumps(body).encode()) == ("ok", 200)
    return parsed


async def test_inbound_and_status_webhooks_name_the_bsuid(bench: Bench) -> None:
    written = await bench.act("send", {"phone_number_id": NUMBER.phone_number_id, "text": "hi"})
    assert written.status_code == 201
    sent = await bench.send(text_payload("hello", to=USER))
    assert sent.status_code == 200
    # A send by number names no BSUID in its answer (Meta's answer does not either).
    assert sent.json()["contacts"] == [{"input": USER, "wa_id": USER}]
    wamid = sent.json()["messages"][0]["id"]
    await bench.receiver.wait_for_statuses(wamid, 3)

    inbound, *statuses = bench.receiver.values()
    assert [c["user_id"] for c in inbound["contacts"]] == [BSUID]
    assert [s["status"] for v in statuses for s in v["statuses"]] == ["sent", "delivered", "read"]
    for value in statuses:
        assert value["contacts"] == [{"wa_id": USER, "user_id": BSUID}]

    message, *updates = _parse(bench.receiver.bodies)
    assert isinstance(message, pywa_types.Message)
    assert (message.from_user.bsuid, message.from_user.wa_id) == (BSUID, USER)
    assert [u.status.value for u in updates] == ["sent", "delivered", "read"]
    assert all(isinstance(u, pywa_types.MessageStatus) for u in updates)
    assert {(u.from_user.bsuid, u.from_user.wa_id) for u in updates} == {(BSUID, USER)}


async def test_a_send_addressed_by_bsuid_reaches_the_handset(bench: Bench) -> None:
    payload = text_payload("by bsuid")
    del payload["to"]
    payload["recipient"] = BSUID
    response = await bench.send(payload)
    assert response.status_code == 200, response.text
    assert response.json()["contacts"] == [{"input": BSUID, "wa_id": USER, "user_id": BSUID}]
    wamid = response.json()["messages"][0]["id"]
    await bench.receiver.wait_for_statuses(wamid, 3)
    assert [m["text"] for m in await bench.inbox()] == ["by bsuid"]
    updates = _parse(bench.receiver.bodies)
    assert [u.status.value for u in updates] == ["sent", "delivered", "read"]
    assert {u.from_user.bsuid for u in updates} == {BSUID}


async def test_an_unknown_or_malformed_bsuid_is_meta_error_100(bench: Bench) -> None:
    for recipient in (user_id(USER, "999999999"), "US.13491208655302741918", "us.1", 7):
        payload = text_payload("x")
        del payload["to"]
        payload["recipient"] = recipient
        error = assert_meta_error(await bench.send(payload), 100, 400)
        assert "recipient" in error["error_data"]["details"]
    neither = text_payload("x")
    del neither["to"]
    assert_meta_error(await bench.send(neither), 131008, 400)
    # With both, the phone number wins.
    both = await bench.send(text_payload("both", to=USER, recipient="US.1"))
    assert both.status_code == 200
    assert both.json()["contacts"] == [{"input": USER, "wa_id": USER}]
