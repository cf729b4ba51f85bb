"""Meta's policy errors, each produced by the action that causes it at Meta, with its channel
(a synchronous Graph error, or an asynchronous `failed` status webhook) and its body as Meta
sends it (see `wanode.sandbox.rules.policies` for the sources):

- a handset blocks the business: its messages fail with 131026 (async);
- blocks and spam reports restrict the number: 131048 (async);
- the per-user marketing template limit: 131049 (async), marketing only, lifted by a reply;
- a handset stops the business's marketing: 131050 (async), marketing only;
- a test number's allowed recipients: 131030 (sync, with `error_subcode` 2655007);
- Meta's rate limits on by default: 130429 and 131056 (sync);
- templates paused for the blocks and reports they drew (3 h, 6 h), then disabled, each with
  its template status webhook; 132015 / 132016 (sync) meanwhile.
Every webhook received must match Meta's OpenAPI document (template updates: cloud-api.md §3.4).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.sandbox.bench import (
    FAST,
    NUMBER,
    USER,
    Bench,
    Clock,
    Receiver,
    assert_meta_error,
    payload_of,
    text_payload,
)
from tests.sandbox.test_templates import AUTHENTICATION

from wanode.codes import meta_code
from wanode.sandbox import Sandbox, SandboxConfig
from wanode.sandbox.rules import policies
from wanode.sandbox.rules.errors import ERROR_DOCS

HOUR = 60 * 60.0
HELLO_WORLD = {"name": "hello_world", "language": {"code": "en_US"}}
UTILITY = {
    "name": "order_shipped",
    "language": "en_US",
    "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Your order has shipped."}],
}
AUTH_SEND = {
    "name": "login_code",
    "language": {"code": "en_US"},
    "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "123456"}]},
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "123456"}],
        },
    ],
}
NUMBER_ID = NUMBER.phone_number_id


@asynccontextmanager
async def policy_bench(receiver: Receiver, clock: Clock, **config: Any) -> AsyncIterator[Bench]:
    """A sandbox with Meta's defaults (rate limits, marketing limit, spam restriction, template
    pauses) unless `config` says otherwise; the 24-hour window is off (the handsets here
    mostly never wrote). Every webhook must be signed and match Meta's document."""
    settings = SandboxConfig(
        default_handset=FAST,
        webhook_retries=3,
        webhook_retry_base=0.01,
        template_review_delay=0.0,
        enforce_window=False,
        fetch_media=False,
        **config,
    )
    sandbox = Sandbox(
        settings, webhook_transport=httpx.ASGITransport(app=receiver.app), clock=clock
    )
    sandbox.provision(NUMBER)
    transport = httpx.ASGITransport(app=sandbox.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            bench = Bench(sandbox, client, receiver)
            yield bench
            await bench.settle()
    finally:
        await sandbox.aclose()
    assert receiver.bad_signatures == 0
    assert receiver.openapi_errors() == []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bench(receiver: Receiver, clock: Clock) -> AsyncIterator[Bench]:
    async with policy_bench(receiver, clock) as opened:
        yield opened


def to(wa_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "to": wa_id}


def template(body: dict[str, Any], wa_id: str = USER) -> dict[str, Any]:
    return to(wa_id, payload_of("template", body))


async def outcome(bench: Bench, payload: dict[str, Any]) -> dict[str, Any]:
    """Send `payload` (accepted: 200) and return its last status webhook."""
    response = await bench.send(payload)
    assert response.status_code == 200, response.json()
    await bench.settle()
    wamid = response.json()["messages"][0]["id"]
    statuses = bench.receiver.statuses(wamid)
    assert statuses, f"no status for {wamid}"
    return statuses[-1]


def assert_delivered(status: dict[str, Any]) -> None:
    assert status["status"] == "read", status


def assert_failed(status: dict[str, Any], code: int, details: str) -> None:
    """The asynchronous error as Meta sends it: a `failed` status with one `errors[]` item."""
    assert status["status"] == "failed", status
    title = meta_code(code).title
    assert status["errors"] == [
        {
            "code": code,
            "title": title,
            "message": title,
            "error_data": {"details": details},
            "href": ERROR_DOCS,
        }
    ]


async def act(bench: Bench, action: str, wa_id: str = USER, **body: Any) -> dict[str, Any]:
    response = await bench.act(action, {"phone_number_id": NUMBER_ID, **body}, wa_id=wa_id)
    assert response.status_code == 200, response.json()
    answer: dict[str, Any] = response.json()
    return answer


# -- a block: 131026 -------------------------------------------------------------------------


async def test_a_handset_that_blocks_the_business_gets_none_of_its_messages(bench: Bench) -> None:
    assert_delivered(await outcome(bench, text_payload("before")))

    shown = await act(bench, "block")

    assert shown["blocked"] == [NUMBER_ID]
    # Accepted (Meta does not tell the business it was blocked), then failed.
    assert_failed(await outcome(bench, text_payload("after")), 131026, policies.BLOCKED)
    assert_failed(await outcome(bench, template(HELLO_WORLD)), 131026, policies.BLOCKED)
    # Nor can the user write to a business it blocked.
    refused = await bench.act("send", {"phone_number_id": NUMBER_ID, "text": "hi"})
    assert refused.status_code == 409
    assert "blocked" in refused.json()["error"]["message"]

    assert (await act(bench, "unblock"))["blocked"] == []
    assert_delivered(await outcome(bench, text_payload("again")))


async def test_blocking_needs_a_known_number_and_a_clean_body(bench: Bench) -> None:
    unknown = await bench.act("block", {"phone_number_id": "999"})
    assert unknown.status_code == 404
    extra = await bench.act("block", {"phone_number_id": NUMBER_ID, "why": "spam"})
    assert extra.status_code == 400
    assert "'why'" in extra.json()["error"]["message"]
    not_bool = await bench.act("block", {"phone_number_id": NUMBER_ID, "report": "yes"})
    assert not_bool.status_code == 400
    assert "report" in not_bool.json()["error"]["message"]


# -- blocks and spam reports: 131048 ---------------------------------------------------------


async def test_blocks_and_spam_reports_restrict_the_number(
    receiver: Receiver, clock: Clock
) -> None:
    async with policy_bench(receiver, clock, spam_limit=3, template_pause_signals=None) as bench:
        await act(bench, "report", wa_id="4915100000001")
        await act(bench, "block", wa_id="4915100000002")
        # A second block by the same user is not a second signal.
        await act(bench, "block", wa_id="4915100000002")
        assert_delivered(await outcome(bench, text_payload("still fine")))

        await act(bench, "block", wa_id="4915100000003", report=True)

        # Every message of the number now fails, to anyone.
        restricted = await outcome(bench, text_payload("restricted"))
        assert_failed(restricted, 131048, policies.SPAM_RESTRICTED)
        assert_failed(
            await outcome(bench, template(HELLO_WORLD, "4915100000009")),
            131048,
            policies.SPAM_RESTRICTED,
        )
        # Meta's quality rating looks back 7 days: then the number sends again.
        clock.advance(7 * 24 * HOUR)
        assert_delivered(await outcome(bench, text_payload("a week later")))


# -- the per-user marketing limit: 131049 ----------------------------------------------------


async def test_the_per_user_marketing_limit_fails_the_next_marketing_template(
    bench: Bench, clock: Clock
) -> None:
    await bench.approved(UTILITY)
    for _ in range(2):  # Meta-like default: 2 in 24 h to a user who does not answer
        assert_delivered(await outcome(bench, template(HELLO_WORLD)))

    capped = await outcome(bench, template(HELLO_WORLD))

    assert_failed(capped, 131049, policies.MARKETING_CAPPED)
    # Marketing only: a utility template and a free-form message still arrive.
    utility = {"name": "order_shipped", "language": {"code": "en_US"}}
    assert_delivered(await outcome(bench, template(utility)))
    assert_delivered(await outcome(bench, text_payload("service")))
    # Another user is not limited by this one's count.
    assert_delivered(await outcome(bench, template(HELLO_WORLD, "4915100000004")))
    # An answer from the user (a minute later) lifts it...
    clock.advance(60)
    answer = await bench.act("send", {"phone_number_id": NUMBER_ID, "text": "tell me more"})
    assert answer.status_code == 201
    assert_delivered(await outcome(bench, template(HELLO_WORLD)))
    assert_delivered(await outcome(bench, template(HELLO_WORLD)))
    assert_failed(await outcome(bench, template(HELLO_WORLD)), 131049, policies.MARKETING_CAPPED)
    # ...and so does time: the window is 24 hours.
    clock.advance(24 * HOUR)
    assert_delivered(await outcome(bench, template(HELLO_WORLD)))


# -- a handset that stops marketing messages: 131050 -----------------------------------------


async def test_a_handset_that_stops_marketing_gets_only_other_templates(bench: Bench) -> None:
    await bench.approved(UTILITY)
    await bench.approved(AUTHENTICATION)

    shown = await act(bench, "marketing", receive=False)

    assert shown["marketing_stopped"] == [NUMBER_ID]
    stopped = await outcome(bench, template(HELLO_WORLD))
    assert_failed(stopped, 131050, policies.MARKETING_STOPPED)
    utility = {"name": "order_shipped", "language": {"code": "en_US"}}
    assert_delivered(await outcome(bench, template(utility)))
    assert_delivered(await outcome(bench, template(AUTH_SEND)))
    assert_delivered(await outcome(bench, text_payload("free-form")))
    # Another user still gets marketing.
    assert_delivered(await outcome(bench, template(HELLO_WORLD, "4915100000005")))

    assert (await act(bench, "marketing", receive=True))["marketing_stopped"] == []
    assert_delivered(await outcome(bench, template(HELLO_WORLD)))


async def test_the_marketing_switch_wants_a_boolean(bench: Bench) -> None:
    response = await bench.act("marketing", {"phone_number_id": NUMBER_ID})
    assert response.status_code == 400
    assert "receive" in response.json()["error"]["message"]


# -- a test number's allowed recipients: 131030 ----------------------------------------------


async def allowed(bench: Bench, value: Any) -> httpx.Response:
    return await bench.client.put(
        f"/numbers/{NUMBER_ID}/allowed-recipients", json={"allowed_recipients": value}
    )


async def test_a_test_number_sends_only_to_its_allowed_recipients(bench: Bench) -> None:
    response = await allowed(bench, ["+1 (650) 555-1234"])
    assert response.json() == {"phone_number_id": NUMBER_ID, "allowed_recipients": [USER]}
    assert_delivered(await outcome(bench, text_payload("on the list")))

    refused = await bench.send(to("4915100000006", text_payload("not on it")))

    # Synchronous, as Graph answers it: 400, (#131030), the details, subcode 2655007.
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["message"] == "(#131030) Recipient phone number not in allowed list"
    assert error["type"] == "OAuthException"
    assert error["code"] == 131030
    assert error["error_subcode"] == policies.NOT_ALLOWED_SUBCODE
    assert error["error_data"] == {
        "messaging_product": "whatsapp",
        "details": policies.NOT_ALLOWED,
    }
    assert re.fullmatch(r"[\w-]+", error["fbtrace_id"])
    # Templates too; and a refused send leaves no message behind.
    refused_template = await bench.send(template(HELLO_WORLD, "4915100000006"))
    assert refused_template.json()["error"]["code"] == 131030
    assert (await bench.inbox("4915100000006")) == []

    lifted = await allowed(bench, None)
    assert lifted.json()["allowed_recipients"] is None
    assert_delivered(await outcome(bench, to("4915100000006", text_payload("lifted"))))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([f"49151000000{n:02d}" for n in range(6)], "at most 5"),
        ("16505551234", "a list"),
        (["not a number"], "phone number"),
    ],
)
async def test_an_allowed_list_is_up_to_five_numbers(
    bench: Bench, value: Any, message: str
) -> None:
    response = await allowed(bench, value)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


# -- Meta's rate limits, on by default: 130429, 131056 ---------------------------------------


async def test_the_pair_limit_is_on_by_default(bench: Bench) -> None:
    for _ in range(45):
        assert (await bench.send()).status_code == 200

    refused = await bench.send()

    error = assert_meta_error(refused, 131056, 400)
    assert "same phone number" in error["error_data"]["details"]


async def test_80_messages_a_second_per_number_by_default(bench: Bench) -> None:
    for n in range(80):
        response = await bench.send(to(f"49152{n:08d}", text_payload("hi")))
        assert response.status_code == 200, response.json()

    refused = await bench.send(to("4915299999999", text_payload("one too many")))

    error = assert_meta_error(refused, 130429, 400)
    assert "limit 80 messages per second" in error["error_data"]["details"]


# -- template pauses and disablement ---------------------------------------------------------


async def test_blocks_after_a_template_pause_it_then_disable_it(
    receiver: Receiver, clock: Clock
) -> None:
    async with policy_bench(receiver, clock, spam_limit=None) as bench:
        users = iter(f"4915300000{n:03d}" for n in range(9))

        async def three_reports() -> None:
            for _ in range(3):
                wa_id = next(users)
                assert_delivered(await outcome(bench, template(HELLO_WORLD, wa_id)))
                await act(bench, "report", wa_id=wa_id)
            await bench.settle()

        await three_reports()
        paused = receiver.template_updates()[-1]
        assert paused["event"] == "PAUSED"
        assert paused["message_template_name"] == "hello_world"
        assert paused["other_info"]["title"] == "FIRST_PAUSE"
        assert paused["reason"] == "NONE"
        # Synchronous while paused, as Meta answers it.
        assert_meta_error(await bench.send(template(HELLO_WORLD, "4915300000999")), 132015, 400)
        listed = await bench.graph("GET", f"{NUMBER.waba_id}/message_templates")
        [hello] = [t for t in listed.json()["data"] if t["name"] == "hello_world"]
        assert hello["status"] == "PAUSED"

        # The first pause lasts 3 hours; the next send unpauses it (an APPROVED update).
        clock.advance(2.9 * HOUR)
        assert_meta_error(await bench.send(template(HELLO_WORLD, "4915300000999")), 132015, 400)
        clock.advance(0.1 * HOUR)
        assert_delivered(await outcome(bench, template(HELLO_WORLD, "4915300000998")))
        unpaused = receiver.template_updates()[-1]
        assert (unpaused["event"], unpaused["other_info"]["title"]) == ("APPROVED", "UNPAUSE")

        await three_reports()
        assert receiver.template_updates()[-1]["other_info"]["title"] == "SECOND_PAUSE"
        clock.advance(5.9 * HOUR)
        assert_meta_error(await bench.send(template(HELLO_WORLD, "4915300000999")), 132015, 400)
        clock.advance(0.1 * HOUR)
        assert_delivered(await outcome(bench, template(HELLO_WORLD, "4915300000997")))

        await three_reports()
        disabled = receiver.template_updates()[-1]
        assert disabled["event"] == "DISABLED"
        assert disabled["disable_info"] == {"disable_date": int(clock())}
        clock.advance(24 * HOUR)
        assert_meta_error(await bench.send(template(HELLO_WORLD, "4915300000999")), 132016, 400)
        events = [update["event"] for update in receiver.template_updates()]
        assert events == ["PAUSED", "APPROVED", "PAUSED", "APPROVED", "DISABLED"]


async def test_blocks_without_a_template_pause_nothing(bench: Bench) -> None:
    for n in range(3):
        wa_id = f"4915400000{n:03d}"
        assert_delivered(await outcome(bench, to(wa_id, text_payload("free-form"))))
        await act(bench, "report", wa_id=wa_id)
    await bench.settle()
    assert bench.receiver.template_updates() == []


# -- state across restarts -------------------------------------------------------------------


async def test_blocks_opt_outs_and_allowed_lists_survive_a_restart(tmp_path: Path) -> None:
    config = SandboxConfig(default_handset=FAST, state_file=str(tmp_path / "sandbox.db"))
    first = Sandbox(config)
    first.start()
    first.provision(NUMBER)
    first.block(USER, NUMBER_ID, report=True)
    first.marketing("4915100000007", NUMBER_ID, receive=False)
    first.set_allowed_recipients(NUMBER_ID, [USER, "4915100000007"])
    hello = first.templates.find(NUMBER.waba_id, "hello_world", "en_US")
    assert hello is not None
    hello.status, hello.pauses, hello.paused_until, hello.quality_since = (
        "PAUSED",
        1,
        1234.5,
        1000.0,
    )
    await first.aclose()

    second = Sandbox(config)
    try:
        blocker = second.handsets.get(USER)
        opted_out = second.handsets.get("4915100000007")
        assert blocker is not None and blocker.blocked == [NUMBER_ID]
        assert opted_out is not None and opted_out.marketing_stopped == [NUMBER_ID]
        state = second.number_states.of(NUMBER_ID)
        assert state.allowed_recipients == [USER, "4915100000007"]
        assert [f["kind"] for f in state.feedback] == ["spam"]
        # A pause for quality still ends when it was due to.
        kept = second.templates.get(hello.template_id)
        assert kept is not None
        assert (kept.status, kept.pauses, kept.paused_until, kept.quality_since) == (
            "PAUSED",
            1,
            1234.5,
            1000.0,
        )
    finally:
        await second.aclose()
