"""Waking only the loop that has work: a webhook wakes the loops its events gave work to, an
idle loop runs one pass per poll interval, and a wake-up that comes during a pass is not lost.

The webhook tests run wanode with its engine stopped and read which loops' wake-up events the
request set: nothing clears them, so they show exactly what the webhook asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.support.harness import Harness, running

from wanode.engine import Engine
from wanode.sandbox.webhooks.delivery import sign
from wanode.store import Database

pytestmark = pytest.mark.asyncio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
LOOPS = {"dispatch", "status", "notify", "forward", "media", "templates", "flows"}


def _fixture(name: str, wn: Harness, **message: Any) -> dict[str, Any]:
    """A recorded webhook, addressed to the harness's app (its number and WABA)."""
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    entry = body["entry"][0]
    entry["id"] = wn.app["waba_id"]
    value = entry["changes"][0]["value"]
    if "metadata" in value:
        value["metadata"]["phone_number_id"] = wn.app["phone_number_id"]
    if message:
        value["messages"][0].update(message)
    return body


def _woken(engine: Engine) -> set[str]:
    return {name for name, event in engine._wake.items() if event.is_set()}


async def _deliver(wn: Harness, body: dict[str, Any]) -> set[str]:
    """Post `body` as WhatsApp would (signed); the loops it woke."""
    for event in wn.ctx.engine._wake.values():
        event.clear()
    raw = orjson.dumps(body)
    response = await wn.client.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={
            "content-type": "application/json",
            "x-hub-signature-256": sign(raw, wn.app["app_secret"]),
        },
    )
    assert response.status_code == 200, response.text
    return _woken(wn.ctx.engine)


async def test_a_status_webhook_wakes_the_status_loop_alone(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        assert await _deliver(wn, _fixture("status_delivered.json", wn)) == {"status"}
        assert await _deliver(wn, _fixture("statuses_batch.json", wn)) == {"status"}


async def test_an_inbound_text_wakes_flows_and_forward_only_for_a_subscriber(
    db: Database,
) -> None:
    async with running(db, start_engine=False) as wn:
        # The flow inbox takes every new inbound message; nobody subscribed to forward it to.
        assert await _deliver(wn, _fixture("text.json", wn, id="wamid.first")) == {"flows"}

        response = await wn.client.post(
            "/v1/subscriptions", json={"url": "http://127.0.0.1:9/events"}
        )
        assert response.status_code == 201, response.text
        second = _fixture("text.json", wn, id="wamid.second")
        assert await _deliver(wn, second) == {"flows", "forward"}

        # WhatsApp repeats a webhook: nothing new is stored, so no loop has work.
        assert await _deliver(wn, copy.deepcopy(second)) == set()


async def test_an_inbound_image_wakes_the_media_loop(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        assert await _deliver(wn, _fixture("image.json", wn)) == {"media", "flows"}


async def test_a_template_status_update_wakes_the_template_loop(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        body = _fixture("outside_openapi/template_status_update.json", wn)
        assert await _deliver(wn, body) == {"templates"}


async def test_a_webhook_for_another_number_wakes_nothing(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        body = _fixture("status_delivered.json", wn)
        body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
        assert await _deliver(wn, body) == set()


async def test_wake_without_names_wakes_every_loop(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        wn.ctx.engine.wake()
        assert _woken(wn.ctx.engine) == LOOPS


def _count_passes(engine: Engine) -> Counter[str]:
    """Count each loop's passes: the engine's components are wrapped before it starts."""
    passes: Counter[str] = Counter()
    components = {
        "dispatch": engine.dispatcher,
        "status": engine.processor,
        "notify": engine.notifier,
        "forward": engine.forwarder,
        "media": engine.media_fetcher,
        "templates": engine.templates,
        "flows": engine.flows,
    }

    def counted(name: str, step: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
        async def wrapper() -> int:
            passes[name] += 1
            return await step()

        return wrapper

    for name, component in components.items():
        # Whichever of its methods the engine runs as the loop's pass.
        for method in ("run_once", "pump"):
            if hasattr(component, method):
                setattr(component, method, counted(name, getattr(component, method)))
    return passes


async def test_an_idle_engine_runs_one_pass_per_poll_interval(db: Database) -> None:
    poll, idle = 0.1, 1.5
    async with running(db, start_engine=False, poll_interval=poll) as wn:
        engine = wn.ctx.engine
        passes = _count_passes(engine)
        engine.start()
        try:
            await asyncio.sleep(idle)
        finally:
            await engine.stop()
    # The first pass at start, then one a poll interval at most (each pass takes some time).
    most = 1 + idle / poll + 1
    assert set(passes) == LOOPS
    assert all(2 <= count <= most for count in passes.values()), passes


async def test_an_idle_loop_polls_ever_less_often_until_woken(db: Database) -> None:
    poll, most_wait, idle = 0.05, 0.4, 2.0
    async with running(db, start_engine=False, poll_interval=poll, idle_poll_max=most_wait) as wn:
        engine = wn.ctx.engine
        passes = _count_passes(engine)
        engine.start()
        try:
            await asyncio.sleep(idle)
            before = dict(passes)
            engine.wake("status")
            await asyncio.sleep(0.1)
        finally:
            await engine.stop()
    # Waits of 0.05, 0.1, 0.2, then 0.4 s: about 7 passes in 2 s, where a fixed poll takes 40.
    assert all(count <= 10 for count in before.values()), before
    # A wake-up brings a pass at once, whatever the wait had grown to.
    assert passes["status"] > before["status"]


async def test_a_wake_up_during_a_pass_brings_the_next_pass_at_once(db: Database) -> None:
    # A poll interval far beyond the test: only a wake-up can bring a second pass.
    async with running(db, start_engine=False, poll_interval=60.0) as wn:
        engine = wn.ctx.engine
        passes: list[float] = []
        second = asyncio.Event()

        async def status_pass() -> int:
            passes.append(time.monotonic())
            if len(passes) == 1:
                # Work queued while the pass runs, after its claim found nothing.
                await asyncio.sleep(0.05)
                engine.wake("status")
            else:
                second.set()
            return 0

        engine.processor.run_once = status_pass  # type: ignore[method-assign]
        engine.start()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(second.wait(), timeout=30)
        finally:
            await engine.stop()
    assert len(passes) >= 2, "the wake-up that came during the pass was lost"
    # Well within the 60-s poll, which is the rule; not a speed (the first passes of every
    # loop share the event loop with this one, and on a busy machine took a second once).
    assert passes[1] - passes[0] < 30.0


async def test_moved_statuses_wake_flows_only_while_a_run_waits_on_a_message(
    db: Database,
) -> None:
    from tests.integration.test_flow_nodes import HANDSET, deploy, start, start_node, text

    async with running(db, start_engine=False) as wn:
        engine = wn.ctx.engine
        # A pass that finds nothing learns that no run waits on a message: a campaign's
        # statuses then wake the DR loop alone.
        assert await engine.flows.run_once() == 0
        assert engine._after_moves(("notify",)) == ("notify",)
        doc = {
            "id": "waits",
            "variables": {"phone": HANDSET},
            "nodes": {
                "n1": start_node("n2"),
                "n2": text(
                    "hi",
                    to="$(phone)",
                    wait_for="delivery",
                    timeout=30,
                    on={"onDeliveryReportSuccess": "n3"},
                ),
                "n3": {"type": "end"},
            },
        }
        await deploy(wn, doc)
        run = await start(wn, "waits")
        assert run["status"] == "waiting"
        # The run waits on its message: moved statuses wake flows again, at once and after
        # the next pass that reads the database.
        assert engine._after_moves(("notify",)) == ("notify", "flows")
        await engine.flows.run_once()
        assert engine._after_moves(("status", "notify")) == ("status", "notify", "flows")
