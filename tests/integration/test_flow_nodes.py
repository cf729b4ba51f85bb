"""The flow nodes other than the send node's outcomes, against the sandbox on SQLite and
PostgreSQL: Receive (every event kind, timeout, a late reply), Start triggers from WhatsApp,
Branch, Set, HTTP request, Delay, deployment errors, run history and versions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.integration.test_templates import ORDER, ORDER_PARAMETERS, approved, fast_review
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import free_port, serve_app

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112340201"
OTHER = "4915112340202"
BUTTONS = {
    "type": "reply",
    "reply": {
        "body": {"text": "Confirm your table?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "YES", "title": "Yes"}},
                {"type": "reply", "reply": {"id": "NO", "title": "No"}},
            ]
        },
    },
}
SLOTS = {
    "type": "list",
    "list": {
        "body": {"text": "Pick a slot"},
        "action": {
            "button": "Slots",
            "sections": [
                {
                    "title": "Monday",
                    "rows": [
                        {"id": "s1", "title": "9:00", "description": "Early"},
                        {"id": "s2", "title": "10:00"},
                    ],
                }
            ],
        },
    },
}


class Clock:
    """Real time plus an offset a test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def start_node(to: str, **triggers: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "start", "on": {"onStart": to}}
    if triggers:
        node["triggers"] = triggers
    return node


def text(body: str, to: str = "$(whatsapp.waId)", **extra: Any) -> dict[str, Any]:
    return {
        "type": "whatsapp",
        "destination": to,
        "wa": {"type": "text", "text": {"body": body}},
        **extra,
    }


async def deploy(wn: Harness, doc: dict[str, Any]) -> dict[str, Any]:
    response = await wn.client.post("/v1/flows", json=doc)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def start(wn: Harness, flow_id: str, waid: str | None = None, **variables: Any) -> Any:
    body: dict[str, Any] = {"variables": variables}
    if waid is not None:
        body["waid"] = waid
    response = await wn.client.post(f"/v1/flows/{flow_id}/runs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def get_run(wn: Harness, run: dict[str, Any]) -> dict[str, Any]:
    response = await wn.client.get(f"/v1/flows/{run['flow_id']}/runs/{run['id']}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def at_node(wn: Harness, run: dict[str, Any], node: str) -> dict[str, Any]:
    return dict(
        await wait_until(
            lambda: get_run(wn, run),
            lambda r: r["node"] == node and r["status"] == "waiting",
            timeout=10,
            what=f"run at {node}",
        )
    )


async def finished(wn: Harness, run: dict[str, Any]) -> dict[str, Any]:
    return dict(
        await wait_until(
            lambda: get_run(wn, run),
            lambda r: r["status"] != "waiting",
            timeout=10,
            what="run end",
        )
    )


def path(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(h["node"], h["outcome"]) for h in run["history"]]


async def writes(wn: Harness, body: str, wa_id: str = HANDSET) -> None:
    sent = await wn.client.post(
        f"/sandbox/handsets/{wa_id}/send",
        json={"phone_number_id": wn.app["phone_number_id"], "text": body},
    )
    assert sent.status_code == 201, sent.text


async def inbox(wn: Harness, wa_id: str = HANDSET) -> list[dict[str, Any]]:
    return list((await wn.client.get(f"/sandbox/handsets/{wa_id}/messages")).json())


async def received(wn: Harness, count: int, wa_id: str = HANDSET) -> list[dict[str, Any]]:
    return list(
        await wait_until(
            lambda: inbox(wn, wa_id), lambda m: len(m) >= count, timeout=10, what="inbox"
        )
    )


async def act(wn: Harness, action: str, body: dict[str, Any], wa_id: str = HANDSET) -> None:
    response = await wn.client.post(f"/sandbox/handsets/{wa_id}/{action}", json=body)
    assert response.status_code in (200, 201), response.text


# Receive.


async def test_receive_a_text_and_reply_with_its_variables(db: Database) -> None:
    doc = {
        "id": "echo",
        "nodes": {
            "n1": start_node("n2"),
            "n2": {"type": "receive", "timeout": 30, "on": {"whatsapp.mo": "n3"}},
            "n3": text(
                "You said $(n2.receive.message), $(n2.whatsapp.username)",
                to="$(whatsapp.whatsappId)",
                on={"onSuccess": "n4"},
            ),
            "n4": {"type": "end"},
        },
    }
    async with running(db) as wn:
        await wn.client.put(f"/sandbox/handsets/{HANDSET}", json={"name": "Ana"})
        await deploy(wn, doc)
        run = await start(wn, "echo", waid="+" + HANDSET)
        assert run["waiting_for"]["kind"] == "inbound" and run["waiting_for"]["until"]
        assert run["contact"] == HANDSET
        await writes(wn, "a table for two")
        done = await finished(wn, run)
        assert path(done) == [
            ("n1", "onStart"),
            ("n2", "whatsapp.mo"),
            ("n3", "onSuccess"),
            ("n4", "end"),
        ]
        out = done["outputs"]["n2"]
        assert out["receive.message"] == out["receive.payload"] == "a table for two"
        assert out["receive.channel"] == "whatsapp"
        assert out["whatsapp.waId"] == HANDSET
        assert out["whatsapp.username"] == "Ana"
        assert out["whatsapp.event"] == "MO" and out["whatsapp.type"] == "text"
        assert out["whatsapp.transId"].startswith("wamid.")
        handset = (await wn.client.get(f"/sandbox/handsets/{HANDSET}")).json()
        assert out["whatsapp.identityHash"] == handset["identity_key_hash"]
        [reply] = await received(wn, 1)
        assert reply["text"] == "You said a table for two, Ana"


async def test_reply_buttons_and_list_rows(db: Database) -> None:
    """A reply button tapped and a list row picked: each resumes a Receive node, and sets
    `send.response_interactive` on the node that sent the message tapped."""
    doc = {
        "id": "menu",
        "variables": {"phone": HANDSET},
        "nodes": {
            "n1": start_node("n2"),
            "n2": {
                "type": "whatsapp",
                "destination": "$(phone)",
                "wa": BUTTONS,
                "on": {"onSuccess": "n3"},
            },
            "n3": {
                "type": "receive",
                "events": ["reply"],
                "timeout": 30,
                "on": {"whatsapp.mo": "n4"},
            },
            "n4": {
                "type": "whatsapp",
                "destination": "$(whatsapp.waId)",
                "wa": SLOTS,
                "on": {"onSuccess": "n5"},
            },
            "n5": {
                "type": "receive",
                "events": ["list"],
                "timeout": 30,
                "on": {"whatsapp.mo": "n6"},
            },
            "n6": {"type": "end"},
        },
    }
    async with running(db) as wn:
        await deploy(wn, doc)
        run = await start(wn, "menu")
        assert run["node"] == "n3"
        [buttons] = await received(wn, 1)
        # A text does not resume a Receive node waiting for a reply button.
        await writes(wn, "yes")
        await act(wn, "tap-button", {"message_id": buttons["id"], "id": "YES"})
        at_n5 = await at_node(wn, run, "n5")
        out = at_n5["outputs"]["n3"]
        assert out["receive.payload"] == "YES"
        assert out["whatsapp.replyButtonIdentifier"] == "YES"
        assert out["whatsapp.replyButtonTitle"] == "Yes"
        assert out["whatsapp.event"] == "reply"
        assert (
            out["whatsapp.contextId"]
            == (await wn.message(at_n5["outputs"]["n2"]["send.gatewayTid"]))["wamid"]
        )
        tapped = at_n5["outputs"]["n2"]["send.response_interactive"]
        assert tapped["replyButtonIdentifier"] == "YES" and tapped["event"] == "reply"

        slots = (await received(wn, 2))[1]
        await act(wn, "pick-row", {"message_id": slots["id"], "id": "s1"})
        done = await finished(wn, run)
        out = done["outputs"]["n5"]
        assert out["receive.payload"] == "s1"
        assert (out["whatsapp.listRowIdentifier"], out["whatsapp.listRowTitle"]) == ("s1", "9:00")
        assert out["whatsapp.listDescription"] == "Early"
        assert done["outputs"]["n4"]["send.response_interactive"]["listRowIdentifier"] == "s1"

        # A later tap on the first message is still recorded on its node.
        await act(wn, "tap-button", {"message_id": buttons["id"], "id": "NO"})
        await wait_until(
            lambda: get_run(wn, run),
            lambda r: (
                r["outputs"]["n2"]["send.response_interactive"]["replyButtonIdentifier"] == "NO"
            ),
            timeout=10,
            what="second tap recorded",
        )


async def test_template_quick_reply_postback(db: Database) -> None:
    async with running(db) as wn:
        fast_review(wn)
        template_id = await approved(wn, ORDER)
        doc = {
            "id": "order",
            "variables": {"phone": HANDSET},
            "nodes": {
                "n1": start_node("n2"),
                "n2": {
                    "type": "whatsapp",
                    "destination": "$(phone)",
                    "template": {"template": template_id, "parameters": ORDER_PARAMETERS},
                    "wait_for": "delivery",
                    "timeout": 10,
                    "on": {"onDeliveryReportSuccess": "n3"},
                },
                "n3": {
                    "type": "receive",
                    "events": ["postback"],
                    "timeout": 30,
                    "on": {"whatsapp.mo": "n4"},
                },
                "n4": {"type": "end"},
            },
        }
        await deploy(wn, doc)
        run = await start(wn, "order")
        [message] = await received(wn, 1)
        await at_node(wn, run, "n3")
        await act(wn, "tap-quick-reply", {"message_id": message["id"], "index": 0})
        done = await finished(wn, run)
        out = done["outputs"]["n3"]
        assert out["receive.payload"] == "TRACK_42"
        assert (out["whatsapp.buttonPayload"], out["whatsapp.buttonText"]) == ("TRACK_42", "Track")
        assert out["whatsapp.event"] == "postback"
        tapped = done["outputs"]["n2"]["send.response_interactive"]
        assert tapped["buttonPayload"] == "TRACK_42" and tapped["event"] == "postback"


def _receive_with_timeout(flow_id: str, timeout: float) -> dict[str, Any]:
    return {
        "id": flow_id,
        "nodes": {
            "n1": start_node("n2"),
            "n2": {
                "type": "receive",
                "timeout": timeout,
                "on": {"whatsapp.mo": "n3", "onTimeout": "n4"},
            },
            "n3": {"type": "end", "result": {"code": 101, "description": "replied"}},
            "n4": {"type": "end", "result": {"code": 101, "description": "no reply"}},
        },
    }


async def test_receive_times_out_and_a_later_reply_does_not_resume(db: Database) -> None:
    async with running(db) as wn:
        await deploy(wn, _receive_with_timeout("quiet", 1))
        run = await start(wn, "quiet", waid=HANDSET)
        done = await finished(wn, run)
        assert path(done) == [("n1", "onStart"), ("n2", "onTimeout"), ("n4", "end")]
        await writes(wn, "sorry, I was away")
        await wait_until(
            lambda: wn.client.get("/v1/inbound", params={"waid": HANDSET}),
            lambda r: len(r.json()["messages"]) == 1,
            timeout=5,
            what="the late reply stored",
        )
        await wn.ctx.engine.run_until_idle()
        assert await get_run(wn, run) == done


async def test_a_reply_after_the_deadline_not_yet_timed_out_does_not_resume(
    db: Database,
) -> None:
    """The reply arrives after the deadline but before any worker timed the wait out: it must
    not resume the run (it times out instead)."""
    clock = Clock()
    async with running(db, clock=clock, start_engine=False) as wn:
        await deploy(wn, _receive_with_timeout("late", 30))
        run = await start(wn, "late", waid=HANDSET)
        clock.offset = 31
        await writes(wn, "here I am")
        await wn.sandbox.drain()
        await wn.ctx.engine.run_until_idle()
        done = await get_run(wn, run)
        assert path(done) == [("n1", "onStart"), ("n2", "onTimeout"), ("n4", "end")]
        assert done["result"]["description"] == "no reply"

        in_time = await start(wn, "late", waid=HANDSET)
        clock.offset = 40
        await writes(wn, "quick this time")
        await wn.sandbox.drain()
        await wn.ctx.engine.run_until_idle()
        assert path(await get_run(wn, in_time))[1] == ("n2", "whatsapp.mo")


# Start triggers.


async def test_start_triggers_from_whatsapp_with_conditions(db: Database) -> None:
    book = {
        "id": "book",
        "nodes": {
            "n1": start_node(
                "n2",
                api=False,
                whatsapp={
                    "events": ["message"],
                    "when": {
                        "left": "$(n1.whatsapp.message)",
                        "op": "starts_with",
                        "right": "BOOK",
                    },
                },
            ),
            "n2": text(
                "Booked, $(n1.whatsapp.username)", to="$(n1.whatsapp.waId)", on={"onSuccess": "n3"}
            ),
            "n3": {"type": "end"},
        },
    }
    help_flow = {
        "id": "help",
        "nodes": {
            "n1": start_node(
                "n2",
                whatsapp={
                    "when": {
                        "any": [
                            {"left": "$(whatsapp.message)", "op": "contains", "right": "help"},
                            {
                                "all": [
                                    {
                                        "left": "$(whatsapp.message)",
                                        "op": "equals_ignore_case",
                                        "right": "info",
                                    },
                                    {
                                        "left": "$(n1.whatsapp.type)",
                                        "op": "equals",
                                        "right": "text",
                                    },
                                ]
                            },
                        ]
                    }
                },
            ),
            "n2": text("How can we help?", on={"onSuccess": "n3"}),
            "n3": {"type": "end"},
        },
    }
    async with running(db) as wn:
        await wn.client.put(f"/sandbox/handsets/{HANDSET}", json={"name": "Ana"})
        await deploy(wn, book)
        await deploy(wn, help_flow)
        for message in ("BOOK a table", "hello", "book lowercase", "I need help", "INFO"):
            await writes(wn, message)
        replies = await received(wn, 3)
        assert sorted(m["text"] for m in replies) == [
            "Booked, Ana",
            "How can we help?",
            "How can we help?",
        ]

        async def runs(flow_id: str) -> list[dict[str, Any]]:
            return list((await wn.client.get(f"/v1/flows/{flow_id}/runs")).json()["runs"])

        await wn.ctx.engine.run_until_idle()
        [booked] = await runs("book")
        assert len(await runs("help")) == 2
        booked = await get_run(wn, booked)
        assert booked["status"] == "completed"
        assert booked["contact"] == HANDSET
        start_out = booked["outputs"]["n1"]
        assert start_out["whatsapp.message"] == "BOOK a table"
        assert start_out["whatsapp.waId"] == HANDSET
        assert start_out["whatsapp.username"] == "Ana"

        refused = await wn.client.post("/v1/flows/book/runs", json={})
        assert refused.status_code == 400
        assert refused.json()["error"]["node"] == "n1"


async def test_skip_if_waiting(db: Database) -> None:
    def waiting_flow(flow_id: str, prefix: str, skip: bool) -> dict[str, Any]:
        return {
            "id": flow_id,
            "nodes": {
                "n1": start_node(
                    "n2",
                    whatsapp={
                        "events": ["message"],
                        "when": {
                            "left": "$(whatsapp.message)",
                            "op": "starts_with",
                            "right": prefix,
                        },
                        "skip_if_waiting": skip,
                    },
                ),
                # Waits for a list reply, so further texts are not taken by this node.
                "n2": {
                    "type": "receive",
                    "events": ["list"],
                    "timeout": 300,
                    "on": {"whatsapp.mo": "n3"},
                },
                "n3": {"type": "end"},
            },
        }

    async with running(db) as wn:
        await deploy(wn, waiting_flow("skips", "A", True))
        await deploy(wn, waiting_flow("starts", "B", False))
        for message in ("A1", "A2", "B1", "B2"):
            await writes(wn, message)
        await writes(wn, "A3", wa_id=OTHER)

        async def counts() -> tuple[int, int]:
            skips = (await wn.client.get("/v1/flows/skips")).json()["runs"]
            starts = (await wn.client.get("/v1/flows/starts")).json()["runs"]
            return skips.get("waiting", 0), starts.get("waiting", 0)

        await wait_until(counts, lambda c: c[1] == 2, timeout=10, what="two B runs")
        await wait_until(
            lambda: wn.client.get("/v1/inbound", params={"waid": OTHER}),
            lambda r: len(r.json()["messages"]) == 1,
            timeout=5,
            what="the other handset's message",
        )
        await wn.ctx.engine.run_until_idle()
        # One waiting run per contact: HANDSET's second A started nothing; OTHER has its own.
        assert await counts() == (2, 2)
        runs = (await wn.client.get("/v1/flows/skips/runs")).json()["runs"]
        assert sorted(r["contact"] for r in runs) == [HANDSET, OTHER]


# Branch, Set, End.


async def test_set_and_branch_with_none_of_the_above(db: Database) -> None:
    doc = {
        "id": "age",
        "variables": {"name": "", "age": 0},
        "nodes": {
            "n1": start_node("n2"),
            "n2": {
                "type": "set",
                "set": {"greeting": "Hi $(name)", "years": "$(age)"},
                "on": {"onSuccess": "n3"},
            },
            "n3": {
                "type": "branch",
                "conditions": [
                    {"name": "senior", "when": {"left": "$(years)", "op": "gte", "right": 65}},
                    {
                        "name": "adult",
                        "when": {
                            "all": [
                                {"left": "$(years)", "op": "between", "right": "18,64"},
                                {"left": "$(greeting)", "op": "starts_with", "right": "Hi "},
                            ]
                        },
                    },
                ],
                "on": {"senior": "n4", "adult": "n5", "None of the above": "n6"},
            },
            "n4": {"type": "end", "result": {"code": 101, "description": "senior"}},
            "n5": {"type": "end", "result": {"code": 101, "description": "adult"}},
            "n6": {"type": "end", "result": {"code": 101, "description": "minor"}},
        },
    }
    async with running(db) as wn:
        await deploy(wn, doc)
        for age, expected in ((70, "senior"), (30, "adult"), (12, "minor"), ("n/a", "minor")):
            run = await start(wn, "age", name="Ana", age=age)
            assert run["status"] == "completed", run
            assert run["result"]["description"] == expected, age
            assert run["variables"]["greeting"] == "Hi Ana"
            assert run["variables"]["years"] == age
            branch = "None of the above" if expected == "minor" else expected
            assert run["outputs"]["n3"]["branch.output"] == branch
            assert path(run)[2] == ("n3", branch)
            assert run["history"][1]["variables"] == {"greeting": "Hi Ana", "years": age}

        unknown = await wn.client.post("/v1/flows/age/runs", json={"variables": {"colour": 1}})
        assert unknown.status_code == 400
        assert unknown.json()["error"]["field"] == "variables.colour"


# HTTP request.


@asynccontextmanager
async def web_service() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def handle(request: Request) -> Response:
        seen.append(
            {
                "method": request.method,
                "path": request.url.path,
                "headers": dict(request.headers),
                "body": await request.body(),
            }
        )
        if request.url.path == "/slow":
            await asyncio.sleep(3)
        if request.url.path == "/fail":
            return JSONResponse({"error": "down"}, status_code=500)
        return JSONResponse({"slot": "9:00", "ok": True}, headers={"X-Trace": "t-1"})

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])
    port = free_port()
    async with serve_app(app, port):
        yield f"http://127.0.0.1:{port}", seen


def http_flow(url: str, **settings: Any) -> dict[str, Any]:
    return {
        "id": "http",
        "variables": {"base": url, "path": "ok", "ref": "r-1"},
        "nodes": {
            "n1": start_node("n2"),
            "n2": {
                "type": "http",
                "method": "POST",
                "url": "$(base)/$(path)",
                "headers": {"X-Ref": "$(ref)"},
                "body": {"ref": "$(ref)", "n": 1},
                "timeout": 1,
                "on": {"onSuccess": "n3", "onError": "n4", "onTimeout": "n5"},
                **settings,
            },
            "n3": {
                "type": "branch",
                "conditions": [
                    {
                        "name": "nine",
                        "when": {
                            "left": "$(n2.https.responseBody)",
                            "op": "contains",
                            "right": "9:00",
                        },
                    }
                ],
                "on": {"nine": "n6", "None of the above": "n6"},
            },
            "n4": {"type": "end", "result": {"code": 102, "description": "error"}},
            "n5": {"type": "end", "result": {"code": 102, "description": "timeout"}},
            "n6": {"type": "end", "result": {"code": 101, "description": "ok"}},
        },
    }


async def test_http_request_success_error_and_timeout(db: Database) -> None:
    async with web_service() as (url, seen), running(db) as wn:
        await deploy(wn, http_flow(url))
        run = await start(wn, "http")
        assert run["waiting_for"]["kind"] == "http"
        done = await finished(wn, run)
        assert path(done) == [
            ("n1", "onStart"),
            ("n2", "onSuccess"),
            ("n3", "nine"),
            ("n6", "end"),
        ]
        out = done["outputs"]["n2"]
        assert (out["https.statusCode"], out["https.statusText"]) == (200, "OK")
        assert '"slot":"9:00"' in out["https.responseBody"].replace(" ", "")
        assert out["https.responseHeaders"]["x-trace"] == "t-1"
        [request] = seen
        assert (request["method"], request["path"]) == ("POST", "/ok")
        assert request["headers"]["x-ref"] == "r-1"
        assert request["body"] == b'{"ref":"r-1","n":1}' or b'"ref": "r-1"' in request["body"]

        failed = await finished(wn, await start(wn, "http", path="fail"))
        assert path(failed)[1] == ("n2", "onError")
        assert failed["outputs"]["n2"]["https.statusCode"] == 500
        assert "down" in failed["outputs"]["n2"]["https.responseBody"]

        slow = await finished(wn, await start(wn, "http", path="slow"))
        assert path(slow)[1] == ("n2", "onTimeout")
        assert slow["result"]["description"] == "timeout"

        unreachable = await finished(wn, await start(wn, "http", base="http://127.0.0.1:9"))
        assert path(unreachable)[1] == ("n2", "onError")


# Delay.


async def test_delay_waits_for_the_clock(db: Database) -> None:
    clock = Clock()
    doc = {
        "id": "later",
        "nodes": {
            "n1": start_node("n2"),
            "n2": {"type": "delay", "seconds": 3600, "on": {"onSuccess": "n3"}},
            "n3": {"type": "end"},
        },
    }
    async with running(db, clock=clock, start_engine=False) as wn:
        await deploy(wn, doc)
        run = await start(wn, "later")
        assert run["waiting_for"]["kind"] == "timer"
        await wn.ctx.engine.run_until_idle()
        assert (await get_run(wn, run))["status"] == "waiting"
        clock.offset = 3599
        await wn.ctx.engine.run_until_idle()
        assert (await get_run(wn, run))["status"] == "waiting"
        clock.offset = 3601
        await wn.ctx.engine.run_until_idle()
        done = await get_run(wn, run)
        assert path(done) == [("n1", "onStart"), ("n2", "onSuccess"), ("n3", "end")]
        assert done["outputs"]["n2"]["delay.waitTime"] == 3600


# Deployment, history, versions.


async def test_an_invalid_definition_is_refused_with_the_node_id(db: Database) -> None:
    doc = {
        "id": "broken",
        "nodes": {
            "n1": start_node("n2"),
            "n2": text(
                "hi", to="$(nobody)", wait_for="none", on={"onSuccess": "n9", "onRead": "n3"}
            ),
            "n3": {"type": "carrier-pigeon"},
        },
    }
    async with running(db) as wn:
        response = await wn.client.post("/v1/flows", json=doc)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"]["node"] == "n2"
        assert body["error"]["code"] == "7004"
        where = {(p["node"], p["field"]) for p in body["problems"]}
        assert where == {
            ("n2", "destination"),
            ("n2", "on.onSuccess"),
            ("n2", "on.onRead"),
            ("n3", "type"),
        }
        assert (await wn.client.get("/v1/flows/broken")).status_code == 404

        yaml_doc = (
            "id: hello\n"
            "variables: {phone: '" + HANDSET + "'}\n"
            "nodes:\n"
            "  n1: {type: start, on: {onStart: n2}}\n"
            "  n2:\n"
            "    type: whatsapp\n"
            "    destination: $(phone)\n"
            "    wa: {type: text, text: {body: Hello}}\n"
            "    on: {onSuccess: n3}\n"
            "  n3: {type: end}\n"
        )
        deployed = await wn.client.post(
            "/v1/flows", content=yaml_doc, headers={"content-type": "application/yaml"}
        )
        assert deployed.status_code == 201, deployed.text
        assert deployed.json()["version"] == 1
        bad_yaml = await wn.client.post(
            "/v1/flows", content="nodes: [", headers={"content-type": "application/yaml"}
        )
        assert bad_yaml.status_code == 400


async def test_run_history_is_visible(db: Database) -> None:
    doc = {
        "id": "history",
        "variables": {"phone": HANDSET, "note": ""},
        "nodes": {
            "n1": start_node("n2"),
            "n2": {"type": "set", "set": {"note": "sent to $(phone)"}, "on": {"onSuccess": "n3"}},
            "n3": {
                "type": "whatsapp",
                "destination": "$(phone)",
                "wa": {"type": "text", "text": {"body": "$(note)"}},
                "wait_for": "read",
                "timeout": 10,
                "on": {"onRead": "n4"},
            },
            "n4": {"type": "end", "result": {"code": 101, "description": "read"}},
        },
    }
    async with running(db) as wn:
        await deploy(wn, doc)
        run = await start(wn, "history", phone=HANDSET)
        assert path(run) == [("n1", "onStart"), ("n2", "onSuccess")]
        assert run["waiting_for"]["node"] == "n3" and run["waiting_for"]["target"] == "read"
        done = await finished(wn, run)
        assert path(done) == [
            ("n1", "onStart"),
            ("n2", "onSuccess"),
            ("n3", "onRead"),
            ("n4", "end"),
        ]
        for entry in done["history"]:
            assert entry["at"].endswith("Z") or "+00:00" in entry["at"], entry
        assert done["history"][0]["variables"] == {"phone": HANDSET}
        assert done["history"][1]["variables"] == {"note": f"sent to {HANDSET}"}
        sent = done["history"][2]["variables"]
        assert sent["n3.send.deliveryStatusCode"] == "7502"
        assert done["result"] == {
            "code": 101,
            "description": "read",
            "node": "n4",
            "outcome": "end",
        }

        listed = (await wn.client.get("/v1/flows/history/runs")).json()["runs"]
        assert [r["id"] for r in listed] == [run["id"]]
        assert "history" not in listed[0]
        completed = await wn.client.get("/v1/flows/history/runs", params={"status": "completed"})
        assert len(completed.json()["runs"]) == 1
        flow = (await wn.client.get("/v1/flows/history")).json()
        assert flow["runs"] == {"completed": 1}
        missing = await wn.client.get("/v1/flows/history/runs/no-such-run")
        assert missing.status_code == 404


async def test_a_new_version_keeps_running_runs_on_theirs(db: Database) -> None:
    def version(reply: str) -> dict[str, Any]:
        return {
            "id": "versions",
            "nodes": {
                "n1": start_node("n2"),
                "n2": {"type": "receive", "timeout": 60, "on": {"whatsapp.mo": "n3"}},
                "n3": text(reply, on={"onSuccess": "n4"}),
                "n4": {"type": "end"},
            },
        }

    async with running(db) as wn:
        assert (await deploy(wn, version("v1 reply")))["version"] == 1
        first = await start(wn, "versions", waid=HANDSET)
        assert (await deploy(wn, version("v2 reply")))["version"] == 2
        second = await start(wn, "versions", waid=OTHER)
        assert (first["version"], second["version"]) == (1, 2)
        assert (await wn.client.get("/v1/flows/versions")).json()["version"] == 2

        await writes(wn, "hi", wa_id=HANDSET)
        await writes(wn, "hi", wa_id=OTHER)
        await finished(wn, first)
        await finished(wn, second)
        [old] = await received(wn, 1, HANDSET)
        [new] = await received(wn, 1, OTHER)
        assert (old["text"], new["text"]) == ("v1 reply", "v2 reply")
