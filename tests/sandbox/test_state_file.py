"""The sandbox's state file: what a restart keeps (numbers, templates and their ids, handsets and
their settings, windows, inboxes, media, QR codes, number settings) and what it resumes
(statuses due while it was down, template reviews, messages parked on an offline handset).

Each test runs one sandbox on a state file, closes it as a shutdown does, and opens another on
the same file: a new object, new webhook receiver, nothing shared but the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.sandbox.bench import (
    AUTH,
    NUMBER,
    USER,
    Bench,
    Clock,
    Receiver,
    text_payload,
)

from wanode.config import Settings
from wanode.sandbox import HandsetConfig, Sandbox, SandboxConfig
from wanode.sandbox.rules.hydration import Rendered, RenderedButton
from wanode.sandbox.rules.kinds import MediaRef
from wanode.sandbox.rules.template_parser import parse_template
from wanode.sandbox.state import codec
from wanode.sandbox.state.handsets import Handset, InboxEntry, SentEntry
from wanode.sandbox.state.number_state import NumberState
from wanode.sandbox.state.qrdls import QrCode
from wanode.sandbox.state.state_file import StateFile, StateFileError
from wanode.sandbox.state.templates import Template

# Statuses far apart, so a test can stop the sandbox between two of them; the wall clock is
# then moved past them, and the restarted sandbox must catch up.
SLOW = HandsetConfig(sent_delay=0.0, delivered_delay=0.01, read_delay=600.0)
TEMPLATE = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Your order is on its way."}],
}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "sandbox-state.db"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@asynccontextmanager
async def running(
    state: Path,
    clock: Clock,
    *,
    handset: HandsetConfig = SLOW,
    review_delay: float = 0.0,
    enforce_window: bool = True,
    state_flush: float = SandboxConfig.state_flush,
) -> AsyncIterator[Bench]:
    """A sandbox on `state`, started as `wanode serve` starts it, closed as it stops."""
    receiver = Receiver(NUMBER.app_secret)
    config = SandboxConfig(
        default_handset=handset,
        webhook_retry_base=0.01,
        template_review_delay=review_delay,
        enforce_window=enforce_window,
        fetch_media=False,
        state_file=str(state),
        state_flush=state_flush,
    )
    transport = httpx.ASGITransport(app=receiver.app)
    sandbox = Sandbox(config, webhook_transport=transport, clock=clock)
    sandbox.provision(NUMBER)
    sandbox.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox"
        ) as client:
            yield Bench(sandbox, client, receiver)
    finally:
        await sandbox.aclose()
    assert receiver.bad_signatures == 0
    assert receiver.openapi_errors() == []


async def templates(bench: Bench) -> dict[str, tuple[str, str]]:
    response = await bench.graph("GET", f"{NUMBER.waba_id}/message_templates")
    return {t["name"]: (t["id"], t["status"]) for t in response.json()["data"]}


async def handset_writes(bench: Bench, text: str = "hi") -> str:
    response = await bench.client.post(
        f"/handsets/{USER}/send", json={"phone_number_id": NUMBER.phone_number_id, "text": text}
    )
    assert response.status_code == 201, response.json()
    wamid: str = response.json()["id"]
    return wamid


async def sent(bench: Bench, payload: dict[str, Any] | None = None) -> str:
    response = await bench.send(payload or text_payload("hello"))
    assert response.status_code == 200, response.json()
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def test_templates_keep_their_ids_and_statuses(state: Path, clock: Clock) -> None:
    async with running(state, clock) as bench:
        created = await bench.approved(TEMPLATE)
        rejected = await bench.approved({**TEMPLATE, "name": "reject_scam_offer"})
        paused = await bench.approved({**TEMPLATE, "name": "weekly_deals"})
        response = await bench.client.post(f"/templates/{paused}/status", json={"status": "PAUSED"})
        assert response.status_code == 200
        before = await templates(bench)
    assert before["order_update"] == (created, "APPROVED")
    assert before["reject_scam_offer"] == (rejected, "REJECTED")
    assert before["weekly_deals"] == (paused, "PAUSED")

    async with running(state, clock) as bench:
        after = await templates(bench)
        # Provisioned again, as `wanode serve` does at each start: still one hello_world.
        bench.sandbox.provision(NUMBER)
        assert await templates(bench) == after
        # The restored template is the one a send names.
        response = await bench.send(
            {
                "messaging_product": "whatsapp",
                "to": USER,
                "type": "template",
                "template": {"name": "weekly_deals", "language": {"code": "en_US"}},
            }
        )
        assert response.json()["error"]["code"] == 132015
    assert after == before
    assert after["hello_world"][1] == "APPROVED"


async def test_a_template_under_review_is_reviewed_after_a_restart(
    state: Path, clock: Clock
) -> None:
    async with running(state, clock, review_delay=600.0) as bench:
        response = await bench.create_template(TEMPLATE)
        template_id = response.json()["id"]
        assert (await templates(bench))["order_update"] == (template_id, "PENDING")

    async with running(state, clock, review_delay=0.0) as bench:
        await bench.settle()
        assert (await templates(bench))["order_update"] == (template_id, "APPROVED")
        [update] = bench.receiver.template_updates()
        assert update["event"] == "APPROVED"


async def test_a_handset_keeps_its_settings_and_its_open_window(state: Path, clock: Clock) -> None:
    async with running(state, clock) as bench:
        response = await bench.client.put(f"/handsets/{USER}", json={"reads": False, "name": "Ada"})
        assert response.status_code == 200
        identity = response.json()["identity_key_hash"]
        inbound = await handset_writes(bench)
        await bench.settle()

    clock.advance(3600)  # an hour later: the window, opened before the restart, is still open
    async with running(state, clock) as bench:
        handset = (await bench.client.get(f"/handsets/{USER}")).json()
        assert (handset["name"], handset["reads"], handset["identity_key_hash"]) == (
            "Ada",
            False,
            identity,
        )
        # A message wanode queued before the restart goes out now: no 131047.
        wamid = await sent(bench)
        await bench.settle()
        assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent", "delivered"]
        # The business can still mark the handset's message read.
        response = await bench.client.post(
            f"/v23.0/{NUMBER.phone_number_id}/messages",
            json={"messaging_product": "whatsapp", "status": "read", "message_id": inbound},
            headers=AUTH,
        )
        assert response.json() == {"success": True}
        [sent_entry] = (await bench.client.get(f"/handsets/{USER}/sent")).json()
        assert (sent_entry["id"], sent_entry["read"]) == (inbound, True)

    async with running(state, clock) as bench:
        [sent_entry] = (await bench.client.get(f"/handsets/{USER}/sent")).json()
        assert sent_entry["read"] is True


async def test_statuses_due_while_down_follow_after_the_restart(state: Path, clock: Clock) -> None:
    async with running(state, clock, enforce_window=False) as bench:
        await handset_writes(bench)
        delivered = await sent(bench)
        await bench.receiver.wait_for_statuses(delivered, 2)
        bench.sandbox.handsets.ensure("16505559999").config = SLOW.updated({"sent_delay": 600.0})
        pending = await sent(bench, text_payload("later", to="16505559999"))
        assert bench.receiver.statuses(pending) == []
    # Stopped between `delivered` and `read`, and before the other's first status.
    assert [s["status"] for s in bench.receiver.statuses(delivered)] == ["sent", "delivered"]

    clock.advance(3600)
    async with running(state, clock, enforce_window=False) as bench:
        await bench.receiver.wait_for_statuses(delivered, 1)
        await bench.receiver.wait_for_statuses(pending, 3)
        assert [s["status"] for s in bench.receiver.statuses(delivered)] == ["read"]
        assert [s["status"] for s in bench.receiver.statuses(pending)] == [
            "sent",
            "delivered",
            "read",
        ]
        inbox = {entry["id"]: entry["status"] for entry in await bench.inbox()}
        assert inbox == {delivered: "read"}


async def test_a_message_parked_on_an_offline_handset_waits_for_it_across_a_restart(
    state: Path, clock: Clock
) -> None:
    async with running(state, clock) as bench:
        await handset_writes(bench)
        await bench.client.put(f"/handsets/{USER}", json={"online": False})
        wamid = await sent(bench)
        await bench.receiver.wait_for_statuses(wamid, 1)
        await bench.settle()
        assert (await bench.client.get(f"/handsets/{USER}")).json()["waiting"] == 1

    clock.advance(60)
    async with running(state, clock) as bench:
        await bench.settle()
        assert bench.receiver.statuses(wamid) == []
        assert (await bench.client.get(f"/handsets/{USER}")).json()["waiting"] == 1
        await bench.client.put(f"/handsets/{USER}", json={"online": True})
        await bench.receiver.wait_for_statuses(wamid, 1)
        assert bench.receiver.statuses(wamid)[0]["status"] == "delivered"


async def test_media_qr_codes_and_number_settings_survive(state: Path, clock: Clock) -> None:
    async with running(state, clock) as bench:
        media_id = (await bench.upload(PNG, "image/png", filename="dot.png")).json()["id"]
        qr = await bench.graph(
            "POST", f"{NUMBER.phone_number_id}/message_qrdls", json={"prefilled_message": "Hi"}
        )
        code = qr.json()["code"]
        await bench.identity_check(True)

    async with running(state, clock) as bench:
        metadata = (await bench.graph("GET", media_id)).json()
        assert metadata["mime_type"] == "image/png"
        download = await bench.client.get(metadata["url"], headers=AUTH)
        assert download.content == PNG
        found = await bench.graph("GET", f"{NUMBER.phone_number_id}/message_qrdls/{code}")
        assert found.json()["data"][0]["prefilled_message"] == "Hi"
        settings = (await bench.graph("GET", f"{NUMBER.phone_number_id}/settings")).json()
        assert settings["user_identity_change"]["enable_identity_key_check"] is True
        # Deleted media stays deleted.
        assert (await bench.graph("DELETE", media_id)).json() == {"success": True}
    async with running(state, clock) as bench:
        assert (await bench.graph("GET", media_id)).json()["error"]["code"] == 100


async def test_changes_reach_the_file_without_a_shutdown(state: Path, clock: Clock) -> None:
    """Written behind: a sandbox that is never closed (killed) has written what it did."""
    async with running(state, clock) as bench:
        await handset_writes(bench)
        wamid = await sent(bench)
        await bench.receiver.wait_for_statuses(wamid, 2)
        assert bench.sandbox.persistence is not None
        await bench.sandbox.persistence.flush()
        rows = set(_rows(state))
        assert {"number", "handset", "inbox", "sent", "template"} <= {kind for kind, _ in rows}
        assert ("inbox", wamid) in rows
        # And without being asked: the loop writes within its period.
        later = await handset_writes(bench, "later")
        for _ in range(100):
            if ("sent", later) in set(_rows(state)):
                break
            await asyncio.sleep(0.05)
        assert ("sent", later) in set(_rows(state))


async def test_the_state_is_written_even_when_closing_fails_before_it(
    state: Path, clock: Clock
) -> None:
    """Closing writes the state last: a failure on the way there (here the webhook client's
    close) must not keep what changed since the last write from the file."""

    async def broken() -> None:
        raise RuntimeError("the webhook client would not close")

    with pytest.raises(RuntimeError, match="would not close"):
        async with running(state, clock, state_flush=3600) as bench:
            wamid = await handset_writes(bench)
            assert ("sent", wamid) not in set(_rows(state))  # not written yet
            bench.sandbox._webhooks.aclose = broken  # type: ignore[method-assign]
    assert ("sent", wamid) in set(_rows(state))


def test_a_state_file_of_an_unknown_version_is_refused(state: Path) -> None:
    StateFile(state).close()
    with sqlite3.connect(state) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(StateFileError, match="version 99"):
        StateFile(state)
    state.write_bytes(b"not a database" * 100)
    with pytest.raises(StateFileError, match=str(state)):
        StateFile(state)


def _rows(state: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(state) as db:
        return list(db.execute("SELECT kind, key FROM items"))


def test_wanode_serve_keeps_the_file_beside_its_database(tmp_path: Path) -> None:
    sqlite = f"sqlite+aiosqlite:///{tmp_path}/data/wanode.db"
    assert Settings(database_url=sqlite).sandbox_state_file() == str(
        tmp_path / "data" / "wanode-sandbox.db"
    )
    postgres = "postgresql+asyncpg://postgres@127.0.0.1/test"
    assert Settings(database_url=postgres).sandbox_state_file() == "var/wanode-sandbox.db"
    assert Settings(sandbox_state=str(tmp_path / "s.db")).sandbox_state_file() == str(
        tmp_path / "s.db"
    )
    for off in ("off", ":memory:"):
        assert Settings(database_url=sqlite, sandbox_state=off).sandbox_state_file() is None
    assert Settings(database_url="sqlite+aiosqlite:///:memory:").sandbox_state_file() is None


def test_each_piece_of_state_reads_back_as_it_was_written() -> None:
    """Every field round-trips through the file's JSON: one added to a state class that JSON
    cannot carry back (a tuple, a set, a dataclass) fails here."""
    spec = parse_template(
        {
            **TEMPLATE,
            "components": [
                {
                    "type": "HEADER",
                    "format": "TEXT",
                    "text": "Order {{1}}",
                    "example": {"header_text": ["42"]},
                },
                {"type": "BODY", "text": "Hello {{1}}.", "example": {"body_text": [["Ada"]]}},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"}]},
            ],
        }
    )
    template = Template("1234567890123456", NUMBER.waba_id, spec, status="PAUSED", pauses=1)
    template.paused_until = 1_700_000_000.5
    assert codec.template_from(_again(codec.template_json(template))) == template

    rendered = Rendered(
        "order_update",
        "en_US",
        "UTILITY",
        "Order 42",
        "Hello Ada.",
        None,
        (RenderedButton(0, "QUICK_REPLY", "Stop", payload="stop"),),
    )
    entry = InboxEntry(
        wamid="wamid.x",
        wa_id=USER,
        phone_number_id=NUMBER.phone_number_id,
        display_phone_number=NUMBER.display_phone_number,
        kind="template",
        text="Hello Ada.",
        payload={"big": 2**70, "nested": {"list": [1, "two"]}},
        api_version="v23.0",
        accepted_at=1_700_000_000.25,
        failure=(131053, "no"),
        status="sent",
        template=rendered,
        category="utility",
        links=(MediaRef("image.link", "image", None, link="http://127.0.0.1/a.png"),),
        idempotency_key="k1",
    )
    assert codec.entry_from(_again(codec.entry_json(entry, waiting=True))) == (entry, True)

    handset = Handset(USER, SLOW.updated({"online": False}), "Ada")
    again = codec.handset_from(_again(codec.handset_json(handset)))
    assert codec.handset_json(again) == codec.handset_json(handset)

    state = NumberState(identity_check=True, blocked={USER: "+1 650 555 1234"}, pin="123456")
    assert codec.number_state_from(_again(codec.number_state_json(state))) == state
    assert codec.number_from(_again(codec.number_json(NUMBER))) == NUMBER
    sent_entry = SentEntry("wamid.y", NUMBER.phone_number_id, "text", "hi", 1.5, read=True)
    assert codec.sent_from(_again(codec.sent_json(sent_entry))) == sent_entry
    qr = QrCode("ABCDEFGHIJKLMN", NUMBER.phone_number_id, "Hi")
    assert codec.qr_from(_again(codec.qr_json(qr))) == qr


def _again(value: Any) -> Any:
    return codec.loads(codec.dumps(value))
