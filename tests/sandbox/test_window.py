"""The 24-hour customer-service window (cloud-api.md §5): outside it only templates go through;
anything else is accepted and then fails with 131047 "Re-engagement message" (§8: an
asynchronous error, carried by a `failed` status)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from tests.sandbox.bench import (
    NUMBER,
    USER,
    Bench,
    Clock,
    Receiver,
    open_bench,
    payload_of,
    text_payload,
    webhook_errors,
)
from tests.sandbox.test_kinds import VALID

from wanode.cli.bootstrap import build_sandbox
from wanode.config import Settings
from wanode.sandbox import SandboxConfig

HOUR = 60 * 60
DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)
HELLO_WORLD = {"name": "hello_world", "language": {"code": "en_US"}}
# A second number of the same business, whose webhooks reach the same receiver.
OTHER = replace(NUMBER, phone_number_id="106540352242923", display_phone_number="15550783882")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def windowed(receiver: Receiver, clock: Clock) -> AsyncIterator[Bench]:
    """A bench that enforces the window, on a clock the test moves."""
    async with open_bench(receiver, clock=clock, enforce_window=True) as bench:
        yield bench


async def handset_writes(bench: Bench, phone_number_id: str = NUMBER.phone_number_id) -> None:
    response = await bench.client.post(
        f"/handsets/{USER}/send", json={"phone_number_id": phone_number_id, "text": "hi there"}
    )
    assert response.status_code == 201, response.json()
    await bench.settle()


async def send(bench: Bench, payload: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Send (a text unless told), let its statuses arrive; the statuses of that message."""
    response = await bench.send(payload)
    assert response.status_code == 200, response.json()
    wamid = response.json()["messages"][0]["id"]
    await bench.settle()
    return bench.receiver.statuses(wamid)


def assert_re_engagement(statuses: list[dict[str, Any]]) -> None:
    [failed] = statuses
    assert failed["status"] == "failed"
    assert failed["errors"] == [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": DETAILS},
            "href": "/docs/whatsapp/cloud-api/support/error-codes/",
        }
    ]
    assert "pricing" not in failed and "conversation" not in failed


async def test_a_text_to_a_handset_that_never_wrote_fails_with_131047(windowed: Bench) -> None:
    statuses = await send(windowed)

    assert_re_engagement(statuses)
    [entry] = await windowed.inbox()
    assert entry["status"] == "failed"
    assert entry["error"] == {"code": 131047, "details": DETAILS}


async def test_the_failed_status_webhook_matches_metas_openapi_document(windowed: Bench) -> None:
    await send(windowed)

    [body] = windowed.receiver.bodies
    assert body["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] == "failed"
    assert webhook_errors(body) == []


async def test_a_handset_that_wrote_23h59m_ago_gets_the_message(
    windowed: Bench, clock: Clock
) -> None:
    await handset_writes(windowed)
    clock.advance(23 * HOUR + 59 * 60)

    statuses = await send(windowed)

    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert statuses[0]["pricing"]["type"] == "free_customer_service"


@pytest.mark.parametrize("elapsed", [24 * HOUR, 24 * HOUR + 1, 30 * 24 * HOUR])
async def test_24_hours_after_the_handset_wrote_the_window_is_closed(
    windowed: Bench, clock: Clock, elapsed: int
) -> None:
    await handset_writes(windowed)
    clock.advance(elapsed)

    assert_re_engagement(await send(windowed))


async def test_each_message_from_the_handset_reopens_the_window(
    windowed: Bench, clock: Clock
) -> None:
    await handset_writes(windowed)
    clock.advance(20 * HOUR)
    shared = await windowed.act(
        "send-location",
        {"phone_number_id": NUMBER.phone_number_id, "latitude": 52.52, "longitude": 13.405},
    )
    assert shared.status_code == 201, shared.json()
    clock.advance(20 * HOUR)

    statuses = await send(windowed)

    assert statuses[-1]["status"] == "read"


async def test_the_window_is_per_business_number(windowed: Bench) -> None:
    windowed.sandbox.provision(OTHER)
    await handset_writes(windowed, OTHER.phone_number_id)

    assert_re_engagement(await send(windowed))


async def test_inbound_messages_carry_the_sandbox_clocks_time(
    windowed: Bench, clock: Clock
) -> None:
    clock.advance(-3 * HOUR)

    await handset_writes(windowed)

    [message] = windowed.receiver.messages()
    assert message["timestamp"] == str(int(clock.now))
    [sent] = (await windowed.client.get(f"/handsets/{USER}/sent")).json()
    assert datetime.fromisoformat(sent["timestamp"]).timestamp() == pytest.approx(clock.now)


async def test_a_template_goes_through_outside_the_window(windowed: Bench) -> None:
    statuses = await send(windowed, payload_of("template", HELLO_WORLD))

    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert statuses[0]["pricing"]["category"] == "marketing"


FREE_FORM = [case for case, (kind, _, _) in VALID.items() if kind != "template"]


@pytest.mark.parametrize("case", FREE_FORM)
async def test_every_kind_but_a_template_needs_the_window(windowed: Bench, case: str) -> None:
    kind, body, _ = VALID[case]

    assert_re_engagement(await send(windowed, payload_of(kind, body)))


async def test_a_reaction_needs_the_window_too(windowed: Bench, clock: Clock) -> None:
    await handset_writes(windowed)
    [message] = windowed.receiver.messages()
    clock.advance(25 * HOUR)
    reaction = {"message_id": message["id"], "emoji": "\N{THUMBS UP SIGN}"}

    assert_re_engagement(await send(windowed, payload_of("reaction", reaction)))


async def test_a_number_not_on_whatsapp_is_131026_not_131047(windowed: Bench) -> None:
    await windowed.client.put(f"/handsets/{USER}", json={"exists": False})

    [failed] = await send(windowed)

    assert failed["errors"][0]["code"] == 131026


async def test_with_the_window_off_any_message_goes_through(bench: Bench) -> None:
    assert bench.sandbox.config.enforce_window is False

    statuses = await send(bench, text_payload("hello", to=USER))

    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]


def test_the_window_is_enforced_by_default() -> None:
    assert SandboxConfig().enforce_window is True
    assert Settings.model_fields["sandbox_enforce_window"].default is True


async def test_settings_reach_the_sandbox_config() -> None:
    settings = Settings(sandbox_enforce_window=False, sandbox_template_review_delay=0.25)

    sandbox = build_sandbox(settings)
    await sandbox.aclose()

    assert sandbox.config.enforce_window is False
    assert sandbox.config.template_review_delay == 0.25
