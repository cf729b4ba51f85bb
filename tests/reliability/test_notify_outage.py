"""Three apps on one real `wanode serve` process, each with its notify URL: one healthy, one
down (nothing listening: connection refused) for longer than all its retries, one that takes
every request and never answers.

- A dead or hanging receiver holds back only its own reports. A healthy report held behind
  one would wait out a hanging request's timeout (`NOTIFY_TIMEOUT`) or a retry: nine in ten of
  the healthy receiver's DRs (from being queued to their arrival) beside the two failing ones
  arrive sooner than that timeout, and their median stays within 2x of its median alone, give
  or take one pass spacing (`WANODE_PASS_SPACING_MAX`: at this rate a wake-up may wait that
  long for its pass, failing receivers or not, so a 16 ms median alone and a 43 ms one beside
  are the same path). "Alone" is measured under the same load: the other two apps send as
  many messages, their reports going to a fourth, healthy receiver; so the figures compare
  receivers failing or not, not two loads on a shared CPU.
- No DR is lost: the down URL's reports are all given up after their retries and listed by
  `GET /v1/delivery-reports`; once it is back they are replayed (`POST
  /v1/delivery-reports/replay`) and each arrives once. The hanging URL recovers too; what it
  had given up is replayed, and it gets each report answered once.
- Every receiver sees each DR (`X-Wanode-DR-Id`, one per message and status) exactly once.

The retries are shortened by setting (`WANODE_NOTIFY_TIMEOUT`, `WANODE_NOTIFY_RETRY_INTERVAL`)
so the outage takes seconds, not the reference's minutes.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.acceptance.test_scale_out import healthy
from tests.acceptance.test_serve import text_request
from tests.reliability.processes import add_app, first_key, launched
from tests.support.receiver import Receiver, free_port, receiver, serve_app

from wanode.config import Settings
from wanode.engine.notifier import DR_ID_HEADER
from wanode.store import Database

pytestmark = [pytest.mark.acceptance, pytest.mark.asyncio]

# Messages per app and phase, sent in steps of STEP every PAUSE seconds (a steady stream, so
# the latency measured is the path's, not a burst's queue).
MESSAGES = 80
STEP, PAUSE = 8, 0.25
DRS_PER_MESSAGE = 3  # submitted, delivered, read
NOTIFY_TIMEOUT = 1.0
RETRY_INTERVAL = 0.5
RETRIES = 3
# The longest default spacing of the DR loop's passes brought by wake-ups (seconds).
PASS_SPACING = Settings.model_fields["pass_spacing_max"].default


def number() -> str:
    return "1" + "".join(secrets.choice("0123456789") for _ in range(14))


async def stream(api: httpx.AsyncClient, app_id: str, prefix: str, url: str) -> list[str]:
    """MESSAGES texts to as many customers, STEP at a time, their DRs to `url`; their
    transids."""
    transids: list[str] = []
    for start in range(0, MESSAGES, STEP):
        customers = [f"{prefix}{i:09d}" for i in range(start, start + STEP)]
        answer = await api.post(
            "/resources/v1/messaging",
            json=text_request(app_id, customers, "hi", notifyurl=url),
        )
        assert answer.status_code == 200, answer.text
        transids.extend(item["transid"] for item in answer.json()["response"])
        await asyncio.sleep(PAUSE)
    return transids


async def wait_for(what: str, done: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not await done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def dr_rows(db: Database, url: str) -> list[Any]:
    async with db.begin() as conn:
        query = sa.text(
            "SELECT id, transid, status, state, created_at, attempts FROM dr_deliveries "
            "WHERE url = :url"
        )
        return list((await conn.execute(query, {"url": url})).all())


def ids_of(rec: Receiver) -> Counter[str]:
    return Counter(r.headers[DR_ID_HEADER.lower()] for r in rec.requests)


async def dr_latencies(db: Database, rec: Receiver, transids: list[str]) -> list[float]:
    """The seconds from each DR of `transids` being queued to its arrival at `rec`."""
    rows = {(r.transid, r.status): r.created_at for r in await dr_rows(db, rec.url + "/dr")}
    wanted = set(transids)
    latencies = []
    for request in rec.requests:
        transid, _, status = request.headers[DR_ID_HEADER.lower()].partition(":")
        if transid in wanted:
            latencies.append(request.at - rows[(transid, status)])
    assert len(latencies) == len(transids) * DRS_PER_MESSAGE
    return latencies


async def test_a_down_and_a_hanging_notify_url_lose_nothing_and_slow_no_one_else(
    tmp_path: Path,
) -> None:
    api_port, down_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    env = {
        **os.environ,
        "WANODE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/wanode.db",
        "WANODE_POLICY_WINDOW": "false",
        "WANODE_SANDBOX_ENFORCE_WINDOW": "false",
        "WANODE_SANDBOX_SENT_DELAY": "0.05",
        "WANODE_SANDBOX_DELIVERED_DELAY": "0.1",
        "WANODE_SANDBOX_READ_DELAY": "0.2",
        "WANODE_NOTIFY_TIMEOUT": str(NOTIFY_TIMEOUT),
        "WANODE_NOTIFY_RETRIES": str(RETRIES),
        "WANODE_NOTIFY_RETRY_INTERVAL": str(RETRY_INTERVAL),
        "WANODE_POLL_INTERVAL": "0.05",
        "WANODE_IDLE_POLL_MAX": "0.25",
        "WANODE_LOG_LEVEL": "warning",
    }
    down = Receiver(port=down_port)  # nothing listens there yet
    db = Database(env["WANODE_DATABASE_URL"])
    async with receiver() as good, receiver() as hung, receiver() as sink:
        hung.hanging = True
        urls = {
            "good": good.url + "/dr",
            "down": down.url + "/dr",
            "hung": hung.url + "/dr",
            "sink": sink.url + "/dr",
        }
        try:
            serve = ["serve", "--port", str(api_port)]
            with launched(tmp_path, {"serve": (serve, env)}):
                await healthy(api_url)
                key = first_key(tmp_path, "serve")
                api = httpx.AsyncClient(base_url=api_url, headers={"key": key}, timeout=60)
                apps: dict[str, str] = {}
                for name in ("good", "down", "hung"):
                    phone = number()
                    apps[name] = await add_app(
                        api,
                        name=name,
                        phone_number_id=phone,
                        waba_id="2" + phone[1:],
                        access_token=secrets.token_urlsafe(24),
                        app_secret=secrets.token_hex(16),
                        gateway="sandbox",
                    )

                async def good_has(count: int) -> bool:
                    return len(good.requests) >= count

                # Alone: the other two apps send as much, their reports to a healthy sink.
                alone, _, _ = await asyncio.gather(
                    stream(api, apps["good"], "4915", urls["good"]),
                    stream(api, apps["down"], "4916", urls["sink"]),
                    stream(api, apps["hung"], "4917", urls["sink"]),
                )
                drs = len(alone) * DRS_PER_MESSAGE
                await wait_for("the healthy DRs alone", lambda: good_has(drs))
                alone_latencies = await dr_latencies(db, good, alone)

                # The same load, the other two apps' reports to a dead and a hanging URL.
                beside, _, _ = await asyncio.gather(
                    stream(api, apps["good"], "4918", urls["good"]),
                    stream(api, apps["down"], "4919", urls["down"]),
                    stream(api, apps["hung"], "4920", urls["hung"]),
                )
                await wait_for("the healthy DRs beside the others", lambda: good_has(2 * drs))
                beside_latencies = await dr_latencies(db, good, beside)

                # The down URL's reports are all given up, and listed.
                async def down_given_up() -> bool:
                    rows = await dr_rows(db, urls["down"])
                    return len(rows) == MESSAGES * DRS_PER_MESSAGE and all(
                        r.state == "given_up" for r in rows
                    )

                await wait_for("the down URL's DRs to be given up", down_given_up)
                listed = (
                    await api.get(
                        "/v1/delivery-reports", params={"appid": apps["down"], "limit": 1000}
                    )
                ).json()["deliveryReports"]
                assert len(listed) == MESSAGES * DRS_PER_MESSAGE
                assert {(r["state"], r["attempts"]) for r in listed} == {("given_up", RETRIES + 1)}
                assert all(r["url"] == urls["down"] and r["lastError"] for r in listed)
                hung_at_recovery = len(hung.unanswered)

                # Both come back; what they had given up is replayed.
                hung.hanging = False
                async with serve_app(down.app(), down.port):
                    replayed = await api.post(
                        "/v1/delivery-reports/replay", json={"all": True, "appid": apps["down"]}
                    )
                    assert replayed.json() == {"replayed": MESSAGES * DRS_PER_MESSAGE}

                    async def all_delivered() -> bool:
                        # A hanging-URL DR may be given up after a replay (its last attempt
                        # was on its way): replay again until none is left.
                        await api.post(
                            "/v1/delivery-reports/replay", json={"all": True, "appid": apps["hung"]}
                        )
                        states = Counter()
                        for url in urls.values():
                            states.update(r.state for r in await dr_rows(db, url))
                        return states == {"delivered": 6 * MESSAGES * DRS_PER_MESSAGE}

                    await wait_for("every DR to be delivered", all_delivered)
                    down.release()
                await api.aclose()
        finally:
            await db.dispose()

    alone_median = statistics.median(alone_latencies)
    beside_median = statistics.median(beside_latencies)
    beside_p90 = statistics.quantiles(beside_latencies, n=10)[-1]
    print(
        f"\nhealthy notify URL, median DR latency: alone {alone_median * 1000:.0f} ms, beside a "
        f"down and a hanging URL {beside_median * 1000:.0f} ms "
        f"({beside_median / alone_median:.2f}x); down URL: {len(listed)} DRs given up after "
        f"{RETRIES + 1} attempts, replayed and delivered; hanging URL: {hung_at_recovery} "
        f"requests left unanswered, {len(hung.requests)} DRs answered after it recovered"
    )
    assert beside_p90 < NOTIFY_TIMEOUT, beside_p90
    assert beside_median <= 2 * alone_median + PASS_SPACING, (alone_median, beside_median)
    # Every DR arrived exactly once at each receiver, and none is missing.
    for name, rec, messages in (
        ("good", good, 2 * MESSAGES),
        ("sink", sink, 2 * MESSAGES),
        ("down", down, MESSAGES),
        ("hung", hung, MESSAGES),
    ):
        seen = ids_of(rec)
        assert len(seen) == messages * DRS_PER_MESSAGE, name
        assert set(seen.values()) == {1}, (name, [k for k, n in seen.items() if n > 1][:5])
