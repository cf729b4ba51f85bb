"""The messaging tier in the dispatcher: new customers reached with templates outside the
24-hour window are capped per app over a rolling 24 hours; the rest are held, not failed,
and go as the window moves (injected clock, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from tests.support.harness import fast_settings, running
from typer.testing import CliRunner

from wanode.cli.bootstrap import ensure_defaults
from wanode.cli.main import cli
from wanode.engine import Engine, Gateways
from wanode.gateway import Gateway, MemoryGateway
from wanode.messages import Text, render_payload
from wanode.pacing.tier import TIER_WINDOW
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import contacts as contact_queries
from wanode.store import messages as outbox
from wanode.store import pacing as pacing_queries

T0 = 1_000_000.0
HELLO = {"name": "hello_world", "language": {"code": "en_US"}}


class Fixed(Gateways):
    def __init__(self, gateway: Gateway, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = gateway

    def for_app(self, app: dict[str, Any]) -> Gateway:
        return self.gateway


def customer(n: int) -> str:
    return f"49151{n:08d}"


def template_row(app_id: str, wa_id: str) -> dict[str, Any]:
    return {
        "transid": str(uuid.uuid4()),
        "app_id": app_id,
        "wa_id": wa_id,
        "destination": wa_id,
        "destination_type": "waid",
        "kind": "template",
        "payload": {
            "messaging_product": "whatsapp",
            "to": wa_id,
            "type": "template",
            "template": HELLO,
        },
        "template_category": "UTILITY",
    }


def text_row(app_id: str, wa_id: str) -> dict[str, Any]:
    return {
        **template_row(app_id, wa_id),
        "kind": "text",
        "payload": render_payload(Text("hi"), wa_id),
        "template_category": None,
    }


async def enqueue(db: Database, rows: list[dict[str, Any]], at: float) -> list[str]:
    async with db.begin() as conn:
        await outbox.enqueue(conn, rows, at=at)
    return [row["transid"] for row in rows]


async def templates(db: Database, app_id: str, customers: range, at: float) -> list[str]:
    return await enqueue(db, [template_row(app_id, customer(n)) for n in customers], at)


async def message(db: Database, transid: str) -> dict[str, Any]:
    async with db.begin() as conn:
        found = await outbox.get(conn, transid)
    assert found is not None
    return found


async def drain(engine: Engine) -> int:
    """Run the dispatcher until nothing due is left; returns how many claims it made."""
    total = 0
    while handled := await engine.dispatcher.run_once():
        total += handled
    return total


async def tier_app(db: Database, tier: int | None) -> dict[str, Any]:
    """The default app, on the Cloud API, with no opt-in rule (so only the tier decides)."""
    app = (await ensure_defaults(db, gateway="cloud")).app
    async with db.begin() as conn:
        updated = await app_queries.update_app(
            conn, app["id"], opt_in_categories=[], messaging_tier=tier
        )
    assert updated is not None
    return updated


def tier_engine(
    db: Database, clock: list[float], wamid_prefix: str = "MEMORY", **overrides: Any
) -> tuple[Engine, MemoryGateway]:
    memory = MemoryGateway(wamid_prefix=wamid_prefix)
    # Pacing is off so that only the tier holds messages (a fixed clock would pace the rest).
    settings = fast_settings(db, pacing=False, **overrides)
    return Engine(db, settings, Fixed(memory, settings), clock=lambda: clock[0]), memory


def sent_to(memory: MemoryGateway) -> list[str]:
    return [str(sent.payload["to"]) for sent in memory.sent]


@pytest.mark.asyncio
async def test_a_tier_of_250_holds_the_251st_new_customer_until_the_window_moves(
    db: Database,
) -> None:
    now = [T0]
    engine, memory = tier_engine(db, now)
    app = await tier_app(db, 250)
    try:
        # 100 new customers now, 150 more an hour later: the tier is full.
        await templates(db, app["id"], range(100), now[0])
        await drain(engine)
        now[0] = T0 + 3600
        await templates(db, app["id"], range(100, 250), now[0])
        await drain(engine)
        assert len(memory.sent) == 250

        # The 251st and 252nd new customers are held, not failed, and not counted as attempts.
        now[0] = T0 + 7200
        held = await templates(db, app["id"], range(250, 252), now[0])
        assert await drain(engine) == 2
        assert len(memory.sent) == 250
        for transid in held:
            row = await message(db, transid)
            assert (row["status"], row["attempts"], row["held_reason"]) == ("queued", 0, "tier")
            assert row["error_code"] is None and row["error_title"] is None
            # Held until the oldest place frees up: 24 h after the first 100 were reached.
            assert row["next_attempt_at"] == pytest.approx(T0 + TIER_WINDOW)
        async with db.begin() as conn:
            assert await pacing_queries.held(conn, app["id"]) == {"tier": 2}
            reach = await pacing_queries.reach(conn, app["id"], now=now[0])
        assert (reach.reached, reach.frees_at) == (250, pytest.approx(T0 + TIER_WINDOW))

        # Not a second early.
        now[0] = T0 + TIER_WINDOW - 1
        assert await drain(engine) == 0
        assert len(memory.sent) == 250

        # The window moves past the first 100: both held messages go, as sent, not failed.
        now[0] = T0 + TIER_WINDOW
        assert await drain(engine) == 2
        assert sorted(sent_to(memory)[250:]) == [customer(250), customer(251)]
        for transid in held:
            row = await message(db, transid)
            assert (row["status"], row["attempts"], row["held_reason"]) == ("submitted", 1, None)
        async with db.begin() as conn:
            assert await pacing_queries.held(conn, app["id"]) == {}
            reach = await pacing_queries.reach(conn, app["id"], now=now[0])
        assert reach.reached == 152  # the 150 of the second hour and the 2 just reached
    finally:
        await engine.notify_client.aclose()


@pytest.mark.asyncio
async def test_open_windows_and_known_customers_are_not_held(db: Database) -> None:
    now = [T0]
    engine, memory = tier_engine(db, now)
    app = await tier_app(db, 2)
    try:
        await templates(db, app["id"], range(2), now[0])
        await drain(engine)
        async with db.begin() as conn:
            # Customer 10 wrote an hour ago: their window is open.
            await contact_queries.observe(conn, customer(10), at=now[0], inbound_at=now[0] - 3600)
        now[0] += 60
        transids = await enqueue(
            db,
            [
                template_row(app["id"], customer(0)),  # already counted: no new place
                template_row(app["id"], customer(1)),
                template_row(app["id"], customer(10)),  # inside the window: not counted
                text_row(app["id"], customer(10)),
                template_row(app["id"], customer(11)),  # a third new customer: held
            ],
            now[0],
        )
        await drain(engine)
        statuses = [(await message(db, t))["status"] for t in transids]
        assert statuses == ["submitted"] * 4 + ["queued"]
        assert len(memory.sent) == 6
        assert (await message(db, transids[-1]))["held_reason"] == "tier"
        async with db.begin() as conn:
            assert (await pacing_queries.reach(conn, app["id"], now=now[0])).reached == 2
    finally:
        await engine.notify_client.aclose()


@pytest.mark.asyncio
async def test_a_customer_reached_again_stays_counted_24_hours_from_then(db: Database) -> None:
    now = [T0]
    engine, memory = tier_engine(db, now)
    app = await tier_app(db, 1)
    try:
        await templates(db, app["id"], range(1), now[0])
        await drain(engine)
        now[0] = T0 + 20 * 3600
        await templates(db, app["id"], range(1), now[0])  # the same customer, 20 h later
        await drain(engine)
        (held,) = await templates(db, app["id"], range(1, 2), now[0])
        await drain(engine)
        assert len(memory.sent) == 2
        # Unique customers in the last 24 h: customer 0 (reached 20 h in) still fills the tier.
        assert (await message(db, held))["next_attempt_at"] == pytest.approx(
            T0 + 20 * 3600 + TIER_WINDOW
        )
        # Counting the first reach only would have freed the place here; it is still taken.
        now[0] = T0 + TIER_WINDOW + 3600
        assert await drain(engine) == 0
        assert (await message(db, held))["status"] == "queued"
        now[0] = T0 + 20 * 3600 + TIER_WINDOW
        assert await drain(engine) == 1
        assert (await message(db, held))["status"] == "submitted"
    finally:
        await engine.notify_client.aclose()


@pytest.mark.asyncio
async def test_unlimited_holds_nothing(db: Database) -> None:
    now = [T0]
    engine, memory = tier_engine(db, now, messaging_tier="unlimited")
    app = await tier_app(db, None)  # follows the setting
    try:
        await templates(db, app["id"], range(300), now[0])
        await drain(engine)
        assert len(memory.sent) == 300
    finally:
        await engine.notify_client.aclose()


@pytest.mark.asyncio
async def test_concurrent_dispatchers_never_exceed_the_tier(db: Database) -> None:
    """Two dispatchers (as two worker processes would) and 32 sends at once in each."""
    now = [T0]
    first, memory_a = tier_engine(db, now, "A", dispatch_batch=20)
    second, memory_b = tier_engine(db, now, "B", dispatch_batch=20)
    app = await tier_app(db, 5)
    try:
        await templates(db, app["id"], range(40), now[0])
        await asyncio.gather(first.dispatcher.run_once(), second.dispatcher.run_once())
        await asyncio.gather(drain(first), drain(second))
        reached = sent_to(memory_a) + sent_to(memory_b)
        assert len(reached) == 5 and len(set(reached)) == 5
        async with db.begin() as conn:
            assert await pacing_queries.held(conn, app["id"]) == {"tier": 35}
            assert (await pacing_queries.reach(conn, app["id"], now=now[0])).reached == 5
    finally:
        await first.notify_client.aclose()
        await second.notify_client.aclose()


@pytest.mark.asyncio
async def test_the_api_sets_the_tier_and_shows_what_is_held(db: Database) -> None:
    now = [T0]
    async with running(db, clock=lambda: now[0], start_engine=False, pacing=False) as wn:
        patched = await wn.client.patch(
            f"/v1/apps/{wn.app_id}", json={"messaging_tier": 1, "opt_in_categories": []}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["messaging_tier"] == 1

        transids = await templates(db, wn.app_id, range(3), now[0])
        while await wn.ctx.engine.dispatcher.run_once():
            pass

        pacing = await wn.client.get(f"/v1/apps/{wn.app_id}/pacing")
        assert pacing.status_code == 200
        assert pacing.json() == {
            "appid": wn.app_id,
            "messaging_tier": 1,
            "messaging_tier_source": "app",
            "new_customers": 1,
            "window_frees_at": "1970-01-13T13:46:40.000Z",
            "held": {"tier": 2, "pacing": 0},
            "held_total": 2,
            "queued": 2,
        }
        shown = [await wn.message(t) for t in transids]
        # The three went at once: which one took the place is up to the race.
        assert sorted(str(m["heldReason"]) for m in shown) == ["None", "tier", "tier"]
        assert sorted(m["status"] for m in shown) == ["queued", "queued", "submitted"]
        assert all((m["status"] == "queued") == (m["attempts"] == 0) for m in shown)
        assert all(m["possiblyDuplicated"] is False for m in shown)

        unlimited = await wn.client.patch(
            f"/v1/apps/{wn.app_id}", json={"messaging_tier": "unlimited"}
        )
        assert unlimited.json()["messaging_tier"] == "unlimited"
        default = await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"messaging_tier": None})
        assert default.json()["messaging_tier"] is None
        status = (await wn.client.get(f"/v1/apps/{wn.app_id}/pacing")).json()
        assert (status["messaging_tier"], status["messaging_tier_source"]) == (250, "default")

        for bad in (0, -5, "lots", 2.5):
            refused = await wn.client.patch(f"/v1/apps/{wn.app_id}", json={"messaging_tier": bad})
            assert refused.status_code == 400, bad
        missing = await wn.client.get("/v1/apps/a_nope/pacing")
        assert missing.status_code == 404


def test_the_cli_shows_what_is_held(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("WANODE_DATABASE_URL", url)

    async def hold_two() -> str:
        db = Database(url)
        await db.migrate()
        now = [time.time()]  # the CLI counts the window back from the real time
        engine, _memory = tier_engine(db, now)
        app = await tier_app(db, 1)
        try:
            await templates(db, app["id"], range(3), now[0])
            await drain(engine)
        finally:
            await engine.notify_client.aclose()
            await db.dispose()
        return str(app["id"])

    app_id = asyncio.run(hold_two())
    runner = CliRunner()
    shown = runner.invoke(cli, ["apps", "pacing", app_id, "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"held_total": 2' in shown.output and '"tier": 2' in shown.output
    table = runner.invoke(cli, ["apps", "pacing"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    [row] = [line for line in table.output.splitlines() if app_id in line]
    cells = [cell.strip() for cell in row.strip("│┃ ").split("│")]
    assert cells[1:3] == ["1", "1"] and cells[4:] == ["2", "0", "2"]
    assert cells[3].endswith("Z")  # when the one place frees up
    missing = runner.invoke(cli, ["apps", "pacing", "a_nope"])
    assert missing.exit_code == 1
