"""`wanode serve`'s sandbox keeps its state across a restart (its state file beside the database):
templates keep their ids, a handset its settings and its open 24-hour window, so a message
queued before the restart is delivered after it instead of failing with 131047. And the
standalone `wanode sandbox --state PATH` does the same with its file."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.acceptance.test_serve import WANODE, poll, serve, text_request
from tests.support.receiver import free_port

pytestmark = [pytest.mark.acceptance, pytest.mark.asyncio]

HANDSET = "4915112345670"
# The sandbox enforces the window; wanode's own window policy is off, so the message is sent
# whatever wanode knows and only the sandbox's memory decides its fate.
WINDOW = {"WANODE_SANDBOX_ENFORCE_WINDOW": "true", "WANODE_POLICY_WINDOW": "false"}


async def test_templates_windows_and_queued_messages_survive_a_restart(tmp_path: Path) -> None:
    with serve(tmp_path, "--no-worker", env=WINDOW) as svc:
        async with httpx.AsyncClient(base_url=svc.url, headers={"key": svc.key}) as client:
            wrote = await client.post(
                f"/sandbox/handsets/{HANDSET}/send",
                json={"phone_number_id": svc.phone_number_id, "text": "Hi"},
            )
            assert wrote.status_code == 201, wrote.text
            configured = await client.put(f"/sandbox/handsets/{HANDSET}", json={"name": "Ada"})
            assert configured.status_code == 200
            templates = (await client.get("/sandbox/templates")).json()
            # No worker: the message waits in wanode's queue through the restart.
            response = await client.post(
                "/resources/v1/messaging",
                json=text_request(svc.app_id, [HANDSET], "queued before the restart"),
            )
            [item] = response.json()["response"]
            assert item["code"] == "1001"
    assert (tmp_path / "wanode-sandbox.db").exists()

    with serve(tmp_path, key=svc.key, env=WINDOW) as again:
        async with httpx.AsyncClient(base_url=again.url, headers={"key": svc.key}) as client:
            message = await poll(
                client,
                f"/v1/messages/{item['transid']}",
                lambda m: m["status"] in ("read", "failed"),
            )
            if message["status"] != "read":
                # Seen once in CI and not reproduced since: say all there is to say.
                handset = (await client.get(f"/sandbox/handsets/{HANDSET}")).json()
                raise AssertionError(f"{message}\nhandset after: {handset}\n{_logs(tmp_path)}")
            assert (await client.get("/sandbox/templates")).json() == templates
            handset = (await client.get(f"/sandbox/handsets/{HANDSET}")).json()
            assert handset["name"] == "Ada"
    assert [t["name"] for t in templates] == ["hello_world"]


def _logs(folder: Path) -> str:
    return "\n".join(path.read_text()[-6000:] for path in sorted(folder.glob("serve-*.log")))


NUMBER = ["--phone-number-id", "106540352242922", "--waba-id", "102290129340398"]
TOKEN = "sandbox-restart-token"


@contextmanager
def standalone(tmp_path: Path, state: Path) -> Iterator[str]:
    """`wanode sandbox --state` with one number; stopped with SIGTERM, as a user stops it."""
    port = free_port()
    args = [WANODE, "sandbox", "--port", str(port), "--state", str(state), *NUMBER]
    args += ["--access-token", TOKEN, "--app-secret", "secret"]
    with (tmp_path / f"sandbox-{port}.log").open("w") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=os.environ)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / f"sandbox-{port}.log").read_text()
            try:
                httpx.get(f"{url}/numbers", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


async def test_the_standalone_sandbox_keeps_its_state_in_the_file_it_is_given(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.db"
    templates = f"/v23.0/{NUMBER[3]}/message_templates"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    definition = {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Your order is on its way."}],
    }
    with standalone(tmp_path, state) as url:
        async with httpx.AsyncClient(base_url=url, headers=headers) as client:
            created = (await client.post(templates, json=definition)).json()
            before = (await client.get(templates)).json()["data"]
    with standalone(tmp_path, state) as url:
        async with httpx.AsyncClient(base_url=url, headers=headers) as client:
            after = (await client.get(templates)).json()["data"]
    # The same templates with the same ids (the review, under way at the stop, goes on after it).
    assert [(t["id"], t["name"]) for t in after] == [(t["id"], t["name"]) for t in before]
    assert created["id"] in {t["id"] for t in after}
