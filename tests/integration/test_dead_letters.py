"""DRs given up after their last retry are kept, listed and sent again on request, with the
id header a receiver dedupes on."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import receiver

from wanode.engine.notifier import DR_ID_HEADER
from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"
CODES = ["7501", "7500", "7502"]


async def given_up(wn: Harness, **params: Any) -> list[dict[str, Any]]:
    answer = await wn.client.get("/v1/delivery-reports", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["deliveryReports"])


async def test_given_up_drs_are_listed_and_replayed_in_order(db: Database) -> None:
    async with receiver() as dr, running(db, notify_retries=1) as wn:
        dr.responses = [503] * 6  # two attempts for each of the three DRs: all given up
        sent = await wn.send_text(HANDSET, "Your table is ready", notifyurl=f"{dr.url}/dr")
        transid = sent.json()["response"][0]["transid"]
        dead = await wait_until(
            lambda: given_up(wn), lambda rows: len(rows) == 3, timeout=20, what="3 given up"
        )
        assert [row["code"] for row in reversed(dead)] == CODES  # newest first
        assert {(row["transid"], row["appid"], row["attempts"]) for row in dead} == {
            (transid, wn.app_id, 2)
        }
        assert {row["lastStatusCode"] for row in dead} == {503}
        assert await given_up(wn, appid="a_other") == []
        assert [row["id"] for row in await given_up(wn, before=dead[0]["id"])] == [
            row["id"] for row in dead[1:]
        ]

        first = len(dr.requests)
        replayed = await wn.client.post("/v1/delivery-reports/replay", json={"all": True})
        assert replayed.json() == {"replayed": 3}
        again = (await dr.wait_for(first + 3))[first:]
        assert [r.json()["deliveryInfoNotification"]["deliveryInfo"]["code"] for r in again] == (
            CODES
        )
        # The same ids as the first attempts: a receiver that saw one drops it.
        assert [r.headers[DR_ID_HEADER.lower()] for r in again] == [
            f"{transid}:{status}" for status in ("submitted", "delivered", "read")
        ]
        assert (
            await wait_until(
                lambda: given_up(wn), lambda rows: rows == [], timeout=10, what="none given up"
            )
            == []
        )
        assert (await wn.client.post("/v1/delivery-reports/replay", json={"all": True})).json() == {
            "replayed": 0
        }


@pytest.mark.parametrize("body", [{}, {"ids": [1], "all": True}, {"ids": []}, {"all": False}])
async def test_a_replay_says_what_it_replays(db: Database, body: dict[str, Any]) -> None:
    async with running(db, start_engine=False) as wn:
        answer = await wn.client.post("/v1/delivery-reports/replay", json=body)
        assert answer.status_code == 400, answer.text
