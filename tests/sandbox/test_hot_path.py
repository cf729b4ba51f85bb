"""The sandbox's hot path changes nothing a client sees: the send path served in front of
Starlette answers what the route answers, byte for byte; request bodies mean what the stdlib's
reader says; webhook bodies are the bytes the stdlib's writer wrote, signed as sent; the status
timeline keeps each message's statuses in order and `drain`/`aclose` still see them."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
from typing import Any

import httpx
import phonenumbers
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from tests.sandbox.bench import AUTH, FAST, NUMBER, USER, Bench, Receiver, text_payload

from wanode.sandbox import HandsetConfig, Sandbox, SandboxConfig
from wanode.sandbox.graph.front import SendFront
from wanode.sandbox.graph.routes import message_routes
from wanode.sandbox.http.answers import json_answer
from wanode.sandbox.http.params import graph_body
from wanode.sandbox.platform.timeline import Timeline
from wanode.sandbox.rules.bsuid import _parsed_country, _sole_region, user_id
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.tokens import MALFORMED
from wanode.sandbox.webhooks.payloads import entry_bytes, envelope

SEND = f"/v23.0/{NUMBER.phone_number_id}/messages"
_RANDOM = re.compile(rb'"(id|fbtrace_id)":"[^"]*"')


def _location(latitude: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": USER,
        "type": "location",
        "location": {"latitude": latitude, "longitude": 1.5},
    }


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


# (path, headers, raw body): sends, read receipts and every kind of refusal.
CASES: dict[str, tuple[str, dict[str, str], bytes]] = {
    "text": (SEND, AUTH, _json(text_payload("héllo ✓"))),
    "to written loosely": (SEND, AUTH, _json(text_payload("hi", to=f"+1 (650) 555-{USER[-4:]}"))),
    "by bsuid": (
        SEND,
        AUTH,
        _json(
            {
                "messaging_product": "whatsapp",
                "recipient": user_id(USER, NUMBER.waba_id),
                "type": "text",
                "text": {"body": "hi"},
            }
        ),
    ),
    "read receipt of nothing": (
        SEND,
        AUTH,
        _json({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}),
    ),
    "bad version": (f"/23.0/{NUMBER.phone_number_id}/messages", AUTH, _json(text_payload("hi"))),
    "no token": (SEND, {}, _json(text_payload("hi"))),
    "wrong token": (SEND, {"Authorization": "Bearer nope"}, _json(text_payload("hi"))),
    "unknown number": ("/v23.0/999999999/messages", AUTH, _json(text_payload("hi"))),
    "not json": (SEND, AUTH, b'{"messaging_product": "whatsapp",'),
    "not an object": (SEND, AUTH, b"[]"),
    "empty": (SEND, AUTH, b""),
    "unknown type": (SEND, AUTH, _json({**text_payload("hi"), "type": "hologram"})),
    "bad recipient": (SEND, AUTH, _json(text_payload("hi", to="12"))),
    # A 31-digit integer: the stdlib keeps it whole (orjson would read 1e+30).
    "wide integer": (SEND, AUTH, _json(_location(10**30))),
    "nan": (
        SEND,
        AUTH,
        b'{"messaging_product":"whatsapp","to":"16505551234","type":"location",'
        b'"location":{"latitude":NaN,"longitude":1}}',
    ),
    "byte-order mark": (SEND, AUTH, b"\xef\xbb\xbf" + _json(text_payload("bom"))),
    "utf-16": (SEND, AUTH, json.dumps(text_payload("sixteen")).encode("utf-16")),
    "trailing slash": (SEND + "/", AUTH, _json(text_payload("hi"))),
}


def _normalised(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw headers and body, with the random ids (wamid, fbtrace_id) blanked."""
    return (
        response.status_code,
        list(response.headers.raw),
        _RANDOM.sub(rb'"\1":"-"', response.content),
    )


async def _front_and_route(bench: Bench, path: str, **request: Any) -> list[httpx.Response]:
    """The same POST to the bench's send front and to the Starlette app behind it (the route),
    in that order."""
    app = bench.sandbox.app
    assert isinstance(app, SendFront)
    answers = []
    for target in (app, app.app):
        transport = httpx.ASGITransport(app=target)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            answers.append(await client.post(path, **request))
    return answers


@pytest.mark.parametrize("case", list(CASES))
async def test_the_send_front_answers_what_the_route_answers(bench: Bench, case: str) -> None:
    path, headers, body = CASES[case]
    front, route = await _front_and_route(bench, path, content=body, headers=headers)

    assert _normalised(front) == _normalised(route)
    if case == "wide integer":
        assert "(got 1000000000000000000000000000000)" in front.text
    if case in ("text", "by bsuid", "byte-order mark", "utf-16"):
        assert front.status_code == 200
        assert front.json()["messages"][0]["id"].startswith("wamid.")


async def test_the_front_serves_sends_itself_and_passes_on_the_rest(receiver: Receiver) -> None:
    """Behind the front, an app with no routes at all: sends are still answered."""
    config = SandboxConfig(default_handset=FAST, enforce_window=False)
    sandbox = Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app))
    sandbox.provision(NUMBER)
    front = SendFront(Starlette(), sandbox, message_routes(sandbox))
    transport = httpx.ASGITransport(app=front)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            sent = await client.post(SEND, json=text_payload("hi"), headers=AUTH)
            numbers = await client.get("/numbers")
            await asyncio.wait_for(sandbox.drain(), timeout=5)
    finally:
        await sandbox.aclose()

    assert sent.status_code == 200
    wamid = sent.json()["messages"][0]["id"]
    assert [s["status"] for s in receiver.statuses(wamid)] == ["sent", "delivered", "read"]
    assert numbers.status_code == 404  # the empty app's own answer


async def test_injected_faults_go_to_the_route(bench: Bench) -> None:
    configured = await bench.client.put("/faults", json={"rate": 1, "kinds": "unavailable"})
    assert configured.status_code == 200, configured.text

    response = await bench.send(text_payload("hi"))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == 2
    assert bench.sandbox.receive_log.entries() == []


async def test_the_front_routes_under_a_mount(receiver: Receiver) -> None:
    config = SandboxConfig(default_handset=FAST, enforce_window=False)
    sandbox = Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app))
    sandbox.provision(NUMBER)
    parent = Starlette(routes=[Mount("/sandbox", app=sandbox.app)])
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=parent), base_url="http://wanode"
        ) as client:
            sent = await client.post(f"/sandbox{SEND}", json=text_payload("hi"), headers=AUTH)
            outside = await client.post(SEND, json=text_payload("hi"), headers=AUTH)
            await asyncio.wait_for(sandbox.drain(), timeout=5)
    finally:
        await sandbox.aclose()

    assert sent.status_code == 200
    assert outside.status_code == 404
    assert len(sandbox.receive_log.entries()) == 1


async def test_a_repeated_idempotency_key_is_known_to_both_paths(bench: Bench) -> None:
    headers = {**AUTH, "Idempotency-Key": "k-1"}
    answers = await _front_and_route(bench, SEND, json=text_payload("once"), headers=headers)
    wamids = [response.json()["messages"][0]["id"] for response in answers]

    assert wamids[0] == wamids[1]
    assert len(bench.sandbox.receive_log.entries()) == 1
    assert len(bench.sandbox.receive_log.replays()) == 1


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "a": 2}',
        b'{"n": 18446744073709551616, "m": -9223372036854775809}',
        b'{"s": "1234567890123456789012"}',
        b'{"x": NaN, "y": Infinity, "z": 1e400}',
        b'"\\ud800"',
        b"\xef\xbb\xbf[1]",
        b"[0.1, -0.0, 5e-324, 1.7976931348623157e308]",
    ],
)
def test_request_bodies_mean_what_the_stdlib_reads(raw: bytes) -> None:
    expected = json.loads(raw)
    found = graph_body(raw)
    assert repr(found) == repr(expected)
    assert [type(v) for v in _leaves(found)] == [type(v) for v in _leaves(expected)]


@pytest.mark.parametrize("raw", [b"", b"{", b"[1,]", b"\xff", b"{'a': 1}"])
def test_what_is_not_json_is_refused_with_100(raw: bytes) -> None:
    with pytest.raises(MetaError) as refused:
        graph_body(raw)
    assert refused.value.code == 100


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@pytest.mark.parametrize(
    "value",
    [
        {"statuses": [{"id": "wamid.A", "status": "sent"}], "contacts": [{"wa_id": USER}]},
        {"statuses": [{"id": 'quote " and \\ and \n', "biz_opaque_callback_data": "é ✓ \u2028"}]},
        {"messages": [{"location": {"latitude": 37.4, "longitude": -122.16}}], "n": 2**40},
    ],
)
def test_a_status_entry_is_the_bytes_the_stdlib_wrote(value: dict[str, Any]) -> None:
    number = NUMBER.__class__(**{**NUMBER.__dict__, "display_phone_number": "+1 555 «0100»"})
    stdlib = json.dumps(
        envelope(number, value)["entry"][0], separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert entry_bytes(number, value) == stdlib


async def test_batched_webhooks_are_one_signed_body_of_every_entry(receiver: Receiver) -> None:
    """Updates queued together go out as one body, signed as sent (the receiver checks), its
    entries in the order they were emitted; a value orjson cannot write (an integer wider than
    64 bits) is written by the stdlib."""
    config = SandboxConfig(default_handset=FAST, enforce_window=False, webhook_batch=50)
    sandbox = Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app))
    sandbox.provision(NUMBER)
    change = {"field": "messages", "value": {"wide": 2**70}}
    wide = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox"
        ) as client:
            sandbox._webhooks.post(NUMBER.phone_number_id, wide)
            responses = await asyncio.gather(
                *(
                    client.post(
                        SEND, json=text_payload(f"m{i}", to=f"1650555{i:04d}"), headers=AUTH
                    )
                    for i in range(20)
                )
            )
            await asyncio.wait_for(sandbox.drain(), timeout=5)
    finally:
        await sandbox.aclose()

    assert receiver.bad_signatures == 0
    assert receiver.bodies[0]["entry"][0]["changes"][0]["value"]["wide"] == 2**70
    wamids = [r.json()["messages"][0]["id"] for r in responses]
    for wamid in wamids:
        assert [s["status"] for s in receiver.statuses(wamid)] == ["sent", "delivered", "read"]
    # Fewer bodies than updates: the worker merged what was queued.
    assert len(receiver.bodies) < 1 + 3 * len(wamids)


async def test_statuses_keep_their_order_when_the_delays_do_not(receiver: Receiver) -> None:
    """Delivered and read due before sent: each still follows the one before it."""
    handset = HandsetConfig(sent_delay=0.03, delivered_delay=0.0, read_delay=0.01)
    config = SandboxConfig(default_handset=handset, enforce_window=False)
    sandbox = Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app))
    sandbox.provision(NUMBER)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox"
        ) as client:
            responses = [
                await client.post(SEND, json=text_payload(f"m{i}"), headers=AUTH) for i in range(5)
            ]
            await asyncio.wait_for(sandbox.drain(), timeout=5)
    finally:
        await sandbox.aclose()

    for response in responses:
        wamid = response.json()["messages"][0]["id"]
        assert [s["status"] for s in receiver.statuses(wamid)] == ["sent", "delivered", "read"]


async def test_aclose_drops_the_statuses_still_due(receiver: Receiver) -> None:
    handset = HandsetConfig(sent_delay=30.0, delivered_delay=31.0, read_delay=32.0)
    sandbox = Sandbox(
        SandboxConfig(default_handset=handset, enforce_window=False),
        webhook_transport=httpx.ASGITransport(app=receiver.app),
    )
    sandbox.provision(NUMBER)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox"
    ) as client:
        response = await client.post(SEND, json=text_payload("later"), headers=AUTH)
    drained = asyncio.create_task(sandbox.drain())
    await asyncio.sleep(0.05)
    assert not drained.done()  # the three statuses are due in half a minute

    await asyncio.wait_for(sandbox.aclose(), timeout=5)
    await asyncio.wait_for(drained, timeout=5)

    assert response.status_code == 200
    assert receiver.bodies == []


async def test_offline_handsets_park_and_resume_on_the_timeline(bench: Bench) -> None:
    await bench.client.put(f"/handsets/{USER}", json={"online": False})
    response = await bench.send(text_payload("are you there"))
    wamid = response.json()["messages"][0]["id"]
    await bench.settle()  # parked: nothing pending
    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent"]

    await bench.client.put(f"/handsets/{USER}", json={"online": True})
    await bench.settle()

    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent", "delivered", "read"]


async def test_the_timeline_runs_steps_in_time_then_scheduling_order() -> None:
    timeline = Timeline()
    ran: list[str] = []
    now = asyncio.get_running_loop().time()

    def step(name: str) -> None:
        ran.append(name)
        if name == "b":
            # Scheduled by a running step, already due: the same pass runs it.
            timeline.at(now - 1, step, "b-then")

    timeline.at(now + 0.03, step, "c")
    timeline.at(now + 0.01, step, "a")
    timeline.at(now + 0.02, step, "b")
    timeline.at(now + 0.02, step, "b2")
    timeline.at(now + 0.03, step, "d")
    assert len(timeline) == 5
    await asyncio.wait_for(timeline.join(), timeout=5)

    assert ran == ["a", "b", "b-then", "b2", "c", "d"]
    assert len(timeline) == 0
    assert asyncio.get_running_loop().time() >= now + 0.03 - 0.001


async def test_a_failing_step_does_not_stop_the_others() -> None:
    timeline = Timeline()
    ran: list[int] = []
    now = asyncio.get_running_loop().time()

    def fail() -> None:
        raise RuntimeError("boom")

    timeline.at(now, fail)
    timeline.at(now, ran.append, 1)
    await asyncio.wait_for(timeline.join(), timeout=5)

    assert ran == [1]


async def test_cancel_forgets_every_step_and_ends_join() -> None:
    timeline = Timeline()
    ran: list[int] = []
    timeline.at(asyncio.get_running_loop().time() + 60, ran.append, 1)
    joined = asyncio.create_task(timeline.join())
    await asyncio.sleep(0)

    timeline.cancel()
    await asyncio.wait_for(joined, timeout=5)

    assert ran == []
    assert len(timeline) == 0


def test_a_bsuid_country_without_parsing_is_the_parsed_one() -> None:
    """Every country code phonenumbers knows, numbers of every usual length: where the
    shortcut answers, it answers what parsing does."""
    rng = random.Random(5)
    answered = 0
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for length in range(7, 16):
            rest = length - len(str(code))
            for _ in range(3):
                wa_id = str(code) + "".join(rng.choice("0123456789") for _ in range(rest))
                region = _sole_region(wa_id)
                if region is not None:
                    answered += 1
                    assert region == _parsed_country(wa_id), wa_id
    assert answered > 1000
    assert _sole_region("4915112345678") == "DE"
    assert _sole_region("16505551234") is None  # +1 is shared: parsed
    assert _sole_region("80012345678") == _parsed_country("80012345678") == "ZZ"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer tok", None),
        ("bearer tok", None),
        ("OAuth tok", None),
        ("Bearer  tok ", None),
        ("Bearer tok2", 190),
        ("Bearer", 190),
        ("Basic tok", 190),
        (None, 190),
    ],
)
async def test_a_token_is_judged_as_bearer_judges_it(
    bench: Bench, header: str | None, expected: int | None
) -> None:
    sandbox = bench.sandbox
    if expected is None:
        assert sandbox.authorise(NUMBER.phone_number_id, header) is sandbox.find_number(
            NUMBER.phone_number_id
        )
    else:
        with pytest.raises(MetaError) as refused:
            sandbox.authorise(NUMBER.phone_number_id, header)
        assert refused.value.code == expected


async def test_a_token_bearer_cannot_read_is_refused_even_when_it_is_the_numbers() -> None:
    sandbox = Sandbox(SandboxConfig(enforce_window=False))
    odd = NUMBER.__class__(**{**NUMBER.__dict__, "access_token": "two words", "webhook_url": None})
    sandbox.provision(odd)
    try:
        with pytest.raises(MetaError) as refused:
            sandbox.authorise(odd.phone_number_id, "Bearer two words")
        assert refused.value.code == 190
        assert refused.value.message == MALFORMED
    finally:
        await sandbox.aclose()


async def test_a_webhook_url_with_credentials_sends_them_as_httpx_did() -> None:
    """Over real HTTP (the lean client): the URL's user and password go as Basic auth, as
    httpx sent them, and the body arrives signed."""
    seen: list[tuple[str | None, str]] = []

    async def hook(request: Request) -> Response:
        seen.append((request.headers.get("authorization"), request.url.path))
        return Response(status_code=200)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://us%40er:p%3Ass@127.0.0.1:{port}/hook"
    sandbox = Sandbox(SandboxConfig(default_handset=FAST, enforce_window=False))
    sandbox.provision(NUMBER.__class__(**{**NUMBER.__dict__, "webhook_url": url}))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox"
        ) as client:
            sent = await client.post(SEND, json=text_payload("hi"), headers=AUTH)
            await asyncio.wait_for(sandbox.drain(), timeout=5)
    finally:
        await sandbox.aclose()
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=5)

    assert sent.status_code == 200
    basic = "Basic " + base64.b64encode(b"us@er:p:ss").decode()
    assert seen and all(found == (basic, "/hook") for found in seen)


@pytest.mark.parametrize("now", [1765000000.123456, 0.0, 1e16, 1e-5, float("inf")])
def test_the_receive_log_answers_what_jsonresponse_wrote(now: float) -> None:
    rows = [{"received_at": now, "text": "é ✓ \u2028", "key": None}, {"n": 2**70, "t": "x"}]
    for content in (rows[:1], rows):
        try:
            expected = JSONResponse(content)
        except ValueError:  # the stdlib refuses infinities: so must the answer
            with pytest.raises(ValueError):
                json_answer(content, floats=[now])
            continue
        answer = json_answer(content, floats=[now])
        assert answer.body == expected.body
        assert answer.raw_headers == expected.raw_headers


async def test_the_receive_log_is_read_back_whole(bench: Bench) -> None:
    for i in range(3):
        assert (await bench.send(text_payload(f"m{i} é"))).status_code == 200
    response = await bench.client.get("/log", params={"phone_number_id": NUMBER.phone_number_id})
    entries = bench.sandbox.receive_log.entries(NUMBER.phone_number_id)
    assert (
        response.content
        == json.dumps(
            [e.as_json() for e in entries], separators=(",", ":"), ensure_ascii=False
        ).encode()
    )
    assert [e["text"] for e in response.json()] == ["m0 é", "m1 é", "m2 é"]
