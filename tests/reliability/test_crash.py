"""kill -9 of `wanode serve` three times during a 2,000-message campaign, against a `wanode
sandbox` process that answers every send 200 ms after accepting it (so at any moment dozens of
accepted sends are waiting for their answer).

The app is on the Cloud API gateway pointed at the sandbox: wanode treats it as Meta (which
ignores idempotency keys), while the sandbox still recognises a repeated key and logs it apart
(`GET /log/replays`). So the replays are exactly the sends Graph would have accepted twice.

- Nothing is lost: every accepted message ends submitted or later (or failed, in doubt).
- `in_doubt: "resend"` (the default): every replayed send's message is `possiblyDuplicated`.
- `in_doubt: "fail"` (at most once): no send is replayed; the in-doubt ones fail with 7010.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.acceptance.test_scale_out import healthy, run, started, statuses
from tests.acceptance.test_serve import text_request
from tests.conftest import POSTGRES_URL, drop_schema, make_database
from tests.support.receiver import free_port

from wanode.store import Database

pytestmark = [pytest.mark.acceptance, pytest.mark.asyncio]

MESSAGES = 2_000  # whole requests of 1,000 customers each
KILLS = 3
ANSWER_DELAY = 0.2
DONE = ("submitted", "sent", "delivered", "read", "failed")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The environment that points wanode at a fresh database of each kind."""
    if request.param == "sqlite":
        yield {"WANODE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/wanode.db"}
        return
    request.getfixturevalue("postgres_available")
    db, _url, schema = await make_database("postgresql", tmp_path)
    await db.dispose()
    assert schema is not None
    try:
        yield {"WANODE_DATABASE_URL": POSTGRES_URL, "WANODE_DATABASE_SCHEMA": schema}
    finally:
        await drop_schema(schema)


async def accepted_sends(sandbox: httpx.AsyncClient, number: str) -> list[dict[str, Any]]:
    return list((await sandbox.get("/log", params={"phone_number_id": number})).json())


@pytest.mark.parametrize("in_doubt", ["resend", "fail"])
async def test_three_kills_lose_nothing_and_flag_every_double_send(
    tmp_path: Path, database: dict[str, str], in_doubt: str
) -> None:
    number = "1" + "".join(secrets.choice("0123456789") for _ in range(14))
    token, app_secret = secrets.token_urlsafe(24), secrets.token_hex(16)
    sandbox_port, api_port = free_port(), free_port()
    sandbox_url, api_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{api_port}"
    env = {
        **os.environ,
        **database,
        "WANODE_PACING": "false",
        "WANODE_POLICY_WINDOW": "false",
        "WANODE_SANDBOX_ENFORCE_WINDOW": "false",
        "WANODE_DISPATCH_CONCURRENCY": "64",
        # A killed process's claims are taken over this soon after a restart.
        "WANODE_DISPATCH_LEASE_SECONDS": "2",
        "WANODE_POLL_INTERVAL": "0.1",
        "WANODE_SANDBOX_SENT_DELAY": "0.05",
        "WANODE_SANDBOX_DELIVERED_DELAY": "3600",
        "WANODE_SANDBOX_READ_DELAY": "3600",
        "WANODE_SANDBOX_WEBHOOK_BATCH": "500",
        "WANODE_LOG_LEVEL": "warning",
        # The standalone sandbox is on loopback: the app's graph_base_url must be allowed.
        "WANODE_ALLOW_PRIVATE_URLS": "true",
        "WANODE_APP_ACCESS_TOKEN": token,
        "WANODE_APP_SECRET": app_secret,
        "WANODE_APP_VERIFY_TOKEN": "verify",
        "WANODE_SANDBOX_ACCESS_TOKEN": token,
        "WANODE_SANDBOX_APP_SECRET": app_secret,
    }
    run(tmp_path, env, "db", "upgrade")
    app = run(
        tmp_path,
        env,
        "apps",
        "add",
        "--phone-number-id",
        number,
        "--waba-id",
        "2" + number[1:],
        "--gateway",
        "cloud",
        "--graph-base-url",
        sandbox_url,
    )
    app_id = json.loads(app)["id"]
    key = run(tmp_path, env, "keys", "create").strip().splitlines()[-1]
    serve = ["serve", "--no-sandbox", "--port", str(api_port)]
    db = Database(env["WANODE_DATABASE_URL"], schema=env.get("WANODE_DATABASE_SCHEMA"))
    customers = [f"4915{i:09d}" for i in range(1000)]
    try:
        with ExitStack() as stack:
            stack.enter_context(
                started(
                    tmp_path,
                    "sandbox",
                    [
                        "sandbox",
                        "--port",
                        str(sandbox_port),
                        "--phone-number-id",
                        number,
                        "--waba-id",
                        "2" + number[1:],
                        "--webhook-url",
                        f"{api_url}/webhooks/whatsapp",
                    ],
                    env,
                    "sandbox listening",
                )
            )
            sandbox = httpx.AsyncClient(base_url=sandbox_url, timeout=60)
            api = httpx.AsyncClient(base_url=api_url, headers={"key": key}, timeout=60)
            slow = await sandbox.post(
                "/faults/slow-answers", json={"count": 1_000_000, "delay": ANSWER_DELAY}
            )
            assert slow.status_code == 200, slow.text

            accepted: list[dict[str, Any]] = []
            for round_ in range(KILLS):
                with started(tmp_path, f"serve-{round_}", serve, env, "wanode listening") as wn:
                    await healthy(api_url)
                    if round_ == 0:
                        if in_doubt == "fail":
                            patched = await api.patch(
                                f"/v1/apps/{app_id}", json={"in_doubt": "fail"}
                            )
                            assert patched.status_code == 200, patched.text
                        for n in range(MESSAGES // len(customers)):
                            answer = await api.post(
                                "/resources/v1/messaging",
                                json=text_request(app_id, customers, f"campaign {n}"),
                            )
                            assert answer.status_code == 200, answer.text
                            accepted.extend(answer.json()["response"])
                    # Kill in the middle of sending: once this start has sent its share of
                    # what is left (this and the later starts, and the last one, each a
                    # share). Not a fixed count: what is sent while the requests are
                    # accepted, and between the count reached and the kill, varies with the
                    # machine's speed, and a fixed count could outrun the campaign.
                    sent = len(await accepted_sends(sandbox, number))
                    floor = sent + max(1, (MESSAGES - sent) // (KILLS - round_ + 1))
                    deadline = time.monotonic() + 120
                    while len(await accepted_sends(sandbox, number)) < floor:
                        assert time.monotonic() < deadline, "the campaign stopped moving"
                        await asyncio.sleep(0.05)
                    wn.kill()
                    wn.wait()
            with started(tmp_path, "serve-last", serve, env, "wanode listening"):
                await healthy(api_url)
                # Everything is sent (or failed, in doubt) in the end.
                deadline = time.monotonic() + 300
                while True:
                    counts = await statuses(db)
                    if sum(counts[s] for s in DONE) == MESSAGES:
                        break
                    assert time.monotonic() < deadline, f"not all sent in time: {dict(counts)}"
                    await asyncio.sleep(0.5)
            log = await accepted_sends(sandbox, number)
            replays = (await sandbox.get("/log/replays", params={"phone_number_id": number})).json()
            await sandbox.aclose()
            await api.aclose()
        async with db.begin() as conn:
            query = sa.text(
                "SELECT transid, status, possibly_duplicated, error_title FROM messages"
            )
            rows = {row.transid: row for row in (await conn.execute(query)).all()}
    finally:
        await db.dispose()

    assert len(accepted) == MESSAGES and all(a["code"] == "1001" for a in accepted)
    # Nothing lost: every accepted message has its row, and none is still waiting.
    assert set(rows) == {a["transid"] for a in accepted}
    sent_once = Counter(entry["idempotency_key"] for entry in log)
    assert max(sent_once.values()) == 1  # the sandbox took each key once...
    replayed = {r["idempotency_key"] for r in replays}  # ...and these a second time
    flagged = {t for t, row in rows.items() if row.possibly_duplicated}
    in_doubt_failed = {t for t, row in rows.items() if row.error_title == "In doubt"}
    failed = {t for t, row in rows.items() if row.status == "failed"}
    print(
        f"\n{database['WANODE_DATABASE_URL'].split(':')[0]} in_doubt={in_doubt}: "
        f"{MESSAGES} accepted, {len(log)} sent, {len(replayed)} sent twice, "
        f"{len(flagged)} flagged, {len(in_doubt_failed)} failed in doubt"
    )
    if in_doubt == "resend":
        assert replayed, "no kill caught a send on its way: the test proved nothing"
        assert replayed <= flagged  # every double send is flagged
        assert not failed
        assert set(sent_once) == set(rows)  # and each message reached the gateway
    else:
        assert not replayed  # at most once: nothing reached the gateway twice
        assert in_doubt_failed, "no kill caught a send on its way: the test proved nothing"
        assert failed == in_doubt_failed
        assert set(sent_once) | in_doubt_failed == set(rows)
