"""The API's submitter writes concurrent send requests together (group commit): every request
gets its own rows back, all are stored with their history, and a request whose rows cannot be
written fails alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from wanode.cli.bootstrap import ensure_defaults
from wanode.engine.submit import Destination, Submission, Submitter
from wanode.messages import Text
from wanode.store import Database
from wanode.store import messages as outbox

pytestmark = pytest.mark.asyncio


def submission(app_id: str, numbers: list[str], tag: str) -> Submission:
    return Submission(
        app_id=app_id,
        message=Text(f"hello {tag}"),
        destinations=tuple(Destination(given=n, wa_id=n) for n in numbers),
        correlationid=tag,
    )


async def stored(db: Database, transids: list[str]) -> list[dict[str, Any] | None]:
    async with db.begin() as conn:
        return [await outbox.get(conn, transid) for transid in transids]


async def test_concurrent_requests_are_written_together_and_each_gets_its_rows(
    db: Database,
) -> None:
    app = (await ensure_defaults(db, gateway="sandbox")).app
    submitter = Submitter(db)
    requests = [
        submission(app["id"], [f"49151{i:04d}{j}" for j in range(i % 3 + 1)], f"r{i}")
        for i in range(60)
    ]
    results = await asyncio.gather(
        *(submitter.submit(r, now=1000.0 + i, app=app) for i, r in enumerate(requests))
    )
    for i, (request, outcomes) in enumerate(zip(requests, results, strict=True)):
        assert [o["wa_id"] for o in outcomes] == [d.wa_id for d in request.destinations]
        rows = await stored(db, [o["transid"] for o in outcomes])
        assert all(row is not None for row in rows)
        assert {(row["status"], row["correlationid"], row["created_at"]) for row in rows} == {
            ("queued", f"r{i}", 1000.0 + i)
        }
    async with db.begin() as conn:
        history = await outbox.history(conn, results[7][0]["transid"])
    assert [(h["status"], h["occurred_at"]) for h in history] == [("queued", 1007.0)]


async def test_a_request_that_cannot_be_written_fails_alone(db: Database) -> None:
    app = (await ensure_defaults(db, gateway="sandbox")).app
    gone = {**app, "id": "a_deleted_meanwhile"}  # no such app row: its rows break the FK
    submitter = Submitter(db)
    good = [submission(app["id"], [f"4915100000{i}"], f"g{i}") for i in range(5)]
    bad = submission(gone["id"], ["4915199999"], "bad")
    results = await asyncio.gather(
        *(submitter.submit(r, now=1000.0, app=app) for r in good[:3]),
        submitter.submit(bad, now=1000.0, app=gone),
        *(submitter.submit(r, now=1000.0, app=app) for r in good[3:]),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and results[3] is failed[0]
    written = [r for r in results if not isinstance(r, BaseException)]
    assert len(written) == 5
    rows = await stored(db, [outcomes[0]["transid"] for outcomes in written])
    assert all(row is not None and row["status"] == "queued" for row in rows)
