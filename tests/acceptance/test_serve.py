"""`wanode serve` started as a user starts it, and spoken to only over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.receiver import free_port, receiver

pytestmark = [pytest.mark.acceptance, pytest.mark.asyncio]

WANODE = str(Path(sys.executable).with_name("wanode"))
HANDSET = "4915112345678"


@dataclass
class Service:
    process: subprocess.Popen[str]
    url: str
    app_id: str
    key: str
    log_path: Path
    phone_number_id: str


@contextmanager
def serve(
    tmp_path: Path,
    *args: str,
    key: str | None = None,
    window: bool = False,
    env: dict[str, str] | None = None,
) -> Iterator[Service]:
    """`wanode serve` on a free port. `window` keeps the 24-hour window policy on (the default
    of a real start); tests messaging many handsets that never wrote turn it off. `env` adds to
    or overrides the environment (e.g. another WANODE_DATABASE_URL)."""
    port = free_port()
    env = {
        **os.environ,
        "WANODE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/wanode.db",
        "WANODE_SANDBOX_SENT_DELAY": "0.05",
        "WANODE_SANDBOX_DELIVERED_DELAY": "0.2",
        "WANODE_SANDBOX_READ_DELAY": "0.4",
        "WANODE_POLL_INTERVAL": "0.05",
        # A killed process's claims are taken over once their lease runs out.
        "WANODE_DISPATCH_LEASE_SECONDS": "3",
        "WANODE_POLICY_WINDOW": str(window).lower(),
        "WANODE_SANDBOX_ENFORCE_WINDOW": str(window).lower(),
        **(env or {}),
    }
    # Output goes to a file: a pipe nobody drains would block the service once it fills up.
    log_path = tmp_path / f"serve-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [WANODE, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
        output = log_path.read_text()
        found = re.search(r"default app id: (a_\d+)", output)
        number = re.search(r"default app phone_number_id: (\d+)", output)
        assert found and number, output
        # The banner names the console's URL (issue 15).
        assert f"console: {url}/console " in output, output
        if key is None:
            keys = re.findall(r"^(wk_\S+)$", output, re.MULTILINE)
            assert keys, output
            key = keys[-1]
        yield Service(process, url, found.group(1), key, log_path, number.group(1))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(url: str, process: subprocess.Popen[str], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("wanode serve died:\n" + log_path.read_text())
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("wanode serve never became healthy:\n" + log_path.read_text())


def text_request(app_id: str, numbers: list[str], body: str, **extra: Any) -> dict[str, Any]:
    return {
        "appid": app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": numbers}],
        "channels": {"OTT-Messaging": {"wa": {"type": "text", "text": {"body": body}}}},
        **extra,
    }


async def poll(client: httpx.AsyncClient, path: str, done: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(path)
        value = response.json()
        if response.status_code == 200 and done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out polling {path}: {value}")
        await asyncio.sleep(0.1)


async def test_quickstart(tmp_path: Path) -> None:
    async with receiver() as dr:
        with serve(tmp_path, window=True) as svc:
            assert svc.key.startswith("wk_")
            async with httpx.AsyncClient(base_url=svc.url, headers={"key": svc.key}) as client:
                # As in the README: the customer writes first, which opens the 24-hour window.
                await handset_writes(client, svc, HANDSET)
                response = await client.post(
                    "/resources/v1/messaging",
                    json=text_request(
                        svc.app_id, [HANDSET], "Hello from wanode", notifyurl=f"{dr.url}/dr"
                    ),
                )
                assert response.status_code == 200, response.text
                [item] = response.json()["response"]
                assert item["code"] == "1001"

                inbox = await poll(
                    client, f"/sandbox/handsets/{HANDSET}/messages", lambda v: len(v) == 1
                )
                assert inbox[0]["text"] == "Hello from wanode"

                message = await poll(
                    client, f"/v1/messages/{item['transid']}", lambda m: m["status"] == "read"
                )
                assert [h["status"] for h in message["history"]] == [
                    "queued",
                    "submitted",
                    "sent",
                    "delivered",
                    "read",
                ]
                reports = await dr.wait_for(3)
                assert [
                    r.json()["deliveryInfoNotification"]["deliveryInfo"]["code"] for r in reports
                ] == [
                    "7501",
                    "7500",
                    "7502",
                ]
                metrics = await client.get("/metrics")
                assert metrics.status_code == 200
        assert svc.process.returncode is not None


async def handset_writes(client: httpx.AsyncClient, svc: Service, wa_id: str) -> None:
    wrote = await client.post(
        f"/sandbox/handsets/{wa_id}/send",
        json={"phone_number_id": svc.phone_number_id, "text": "Hi"},
    )
    assert wrote.status_code == 201, wrote.text
    await poll(client, "/v1/inbound", lambda v: any(m["waid"] == wa_id for m in v["messages"]))


async def test_accepted_messages_survive_a_kill(tmp_path: Path) -> None:
    numbers = [f"4917100000{i:03d}" for i in range(30)]
    with serve(tmp_path, "--no-worker") as svc:
        async with httpx.AsyncClient(base_url=svc.url, headers={"key": svc.key}) as client:
            response = await client.post(
                "/resources/v1/messaging", json=text_request(svc.app_id, numbers, "survive")
            )
            transids = [i["transid"] for i in response.json()["response"]]
        svc.process.send_signal(signal.SIGKILL)
        svc.process.wait()
    with serve(tmp_path, key=svc.key) as again:
        assert again.app_id == svc.app_id
        async with httpx.AsyncClient(base_url=again.url, headers={"key": svc.key}) as client:
            for transid in transids:
                await poll(client, f"/v1/messages/{transid}", lambda m: m["status"] == "read")
            inbox = await poll(
                client, f"/sandbox/handsets/{numbers[-1]}/messages", lambda v: len(v) == 1
            )
            assert inbox[0]["text"] == "survive"


async def test_kill_while_dispatching_loses_nothing(tmp_path: Path) -> None:
    numbers = [f"4917200000{i:03d}" for i in range(300)]
    with serve(tmp_path) as svc:
        async with httpx.AsyncClient(base_url=svc.url, headers={"key": svc.key}) as client:
            response = await client.post(
                "/resources/v1/messaging", json=text_request(svc.app_id, numbers, "mid-flight")
            )
            transids = [i["transid"] for i in response.json()["response"]]
        svc.process.send_signal(signal.SIGKILL)
        svc.process.wait()
    with serve(tmp_path, key=svc.key) as again:
        async with httpx.AsyncClient(base_url=again.url, headers={"key": svc.key}) as client:
            for transid in transids:
                # Every accepted message is handed to WhatsApp; the sandbox killed with the
                # first process forgot what it accepted in its last half second (its state file
                # is written behind), so `submitted` is as far as those can be followed.
                await poll(
                    client,
                    f"/v1/messages/{transid}",
                    lambda m: m["status"] in ("submitted", "sent", "delivered", "read"),
                )
