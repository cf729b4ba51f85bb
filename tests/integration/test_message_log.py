"""The console's reading of the message log (wanode.store.message_log), on both databases."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.apps import stored_app

from wanode.store import Database, message_log
from wanode.store.tables import messages, status_events

NOW = 1_800_000_000.0


def _row(app_id: str, i: int, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "transid": str(uuid.uuid4()),
        "app_id": app_id,
        "wa_id": f"1555000{i % 3:04d}",
        "destination": f"+1555000{i % 3:04d}",
        "destination_type": "number",
        "kind": "text",
        "payload": {"type": "text", "text": {"body": str(i)}},
        "correlationid": f"c-{i}",
        "status": status,
        "status_at": NOW,
        "next_attempt_at": NOW,
        # Two rows share each creation time: the transid breaks the tie.
        "created_at": NOW - 1000 + i // 2,
        **extra,
    }


async def test_pages_walk_every_match_once_newest_first_and_filters_narrow(db: Database) -> None:
    shop, other = await stored_app(db, "shop"), await stored_app(db, "other")
    rows = [
        _row(shop, i, "failed" if i % 5 == 0 else "read", error_code=131047 if i % 5 == 0 else None)
        for i in range(23)
    ]
    async with db.begin() as conn:
        await conn.execute(messages.insert(), [*rows, _row(other, 99, "read", error_code=None)])
        flt = message_log.MessageFilter(app_ids=[shop])
        expected = sorted(rows, key=lambda r: (r["created_at"], r["transid"]), reverse=True)
        pages: list[list[str]] = []
        found = await message_log.page(conn, flt, limit=5)
        assert found.newer is None
        while True:
            pages.append([r["transid"] for r in found.rows])
            if found.older is None:
                break
            after = message_log.Cursor.decode(found.older.encode())
            found = await message_log.page(conn, flt, after=after, limit=5)
            assert found.newer is not None
        assert [t for p in pages for t in p] == [r["transid"] for r in expected]
        assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
        # And back again, newest-ward, page by page.
        while found.newer is not None:
            found = await message_log.page(conn, flt, before=found.newer, limit=5)
            pages.pop()
            assert [r["transid"] for r in found.rows] == pages[-1]
        assert len(pages) == 1

        async def transids(**narrow: Any) -> set[str]:
            narrowed = message_log.MessageFilter(app_ids=[shop], **narrow)
            return {r["transid"] for r in (await message_log.page(conn, narrowed, limit=100)).rows}

        failed = {r["transid"] for r in rows if r["status"] == "failed"}
        assert await transids(status="failed") == failed
        assert await transids(error_code=131047) == failed
        assert await transids(correlationid="c-7") == {rows[7]["transid"]}
        assert await transids(transid=rows[3]["transid"]) == {rows[3]["transid"]}
        by_number = {r["transid"] for r in rows if r["wa_id"] == "15550000001"}
        assert await transids(destination="+15550000001") == by_number
        assert await transids(destination="15550000001") == by_number
        window = {r["transid"] for r in rows if NOW - 995 <= r["created_at"] < NOW - 990}
        assert await transids(since=NOW - 995, until=NOW - 990) == window

        counts = await message_log.counts_by_status(conn, None)
        assert counts[shop] == {"failed": 5, "read": 18}
        assert counts[other] == {"read": 1}
        assert await message_log.counts_by_status(conn, [other]) == {other: {"read": 1}}
        failures = await message_log.failures_by_code(conn, [shop])
        assert failures == {shop: [(131047, "", 5)]}


async def test_per_minute_counts_status_changes_by_minute_of_the_apps_asked(db: Database) -> None:
    shop, other = await stored_app(db, "shop"), await stored_app(db, "other")
    mine, theirs = _row(shop, 1, "read"), _row(other, 2, "read")
    minute = int(NOW // 60)
    async with db.begin() as conn:
        await conn.execute(messages.insert(), [mine, theirs])
        await conn.execute(
            status_events.insert(),
            [
                {
                    "transid": row["transid"],
                    "status": status,
                    "occurred_at": minute * 60 + offset,
                    "recorded_at": NOW,
                    "source": "webhook",
                }
                for row in (mine, theirs)
                for status, offset in (("sent", 1.5), ("delivered", 59.9), ("read", 61.0))
            ],
        )
        series = await message_log.per_minute(conn, [shop], since=NOW - 3600, until=NOW + 120)
        everyone = await message_log.per_minute(conn, None, since=NOW - 3600, until=NOW + 120)
    assert series == {
        "sent": {minute: 1},
        "delivered": {minute: 1},
        "read": {minute + 1: 1},
        "failed": {},
    }
    assert everyone["sent"] == {minute: 2}
