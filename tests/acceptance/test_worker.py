"""`wanode worker` and `wanode serve --workers N`, started as a user starts them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.acceptance.test_serve import WANODE, poll, serve, text_request

pytestmark = [pytest.mark.acceptance, pytest.mark.asyncio]


def worker_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "WANODE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/wanode.db",
        "WANODE_POLL_INTERVAL": "0.05",
        "WANODE_POLICY_WINDOW": "false",
        **extra,
    }


@contextmanager
def worker(tmp_path: Path, env: dict[str, str], name: str = "worker") -> Iterator[WorkerProcess]:
    """`wanode worker`, once it says it is running; SIGTERM (then SIGKILL) when done."""
    log_path = tmp_path / f"{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [WANODE, "worker"],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=tmp_path,
        )
    try:
        wait_for_line(log_path, process, "wanode worker running")
        yield WorkerProcess(process, log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[str], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path


def wait_for_line(log_path: Path, process: subprocess.Popen[str], text: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if text in log_path.read_text():
            return
        if process.poll() is not None:
            raise AssertionError(f"process died before {text!r}:\n" + log_path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} within 30 s:\n" + log_path.read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_worker_processes_messages_and_stops_on_sigterm(tmp_path: Path) -> None:
    numbers = [f"4917300000{i:03d}" for i in range(20)]
    with serve(tmp_path, "--no-worker") as api:
        env = worker_env(tmp_path, WANODE_SANDBOX_URL=f"{api.url}/sandbox")
        with worker(tmp_path, env) as running:
            async with httpx.AsyncClient(base_url=api.url, headers={"key": api.key}) as client:
                response = await client.post(
                    "/resources/v1/messaging",
                    json=text_request(api.app_id, numbers, "from a worker"),
                )
                assert response.status_code == 200, response.text
                transids = [item["transid"] for item in response.json()["response"]]
                # Sent by the worker, and every status webhook the API stored applied by it.
                for transid in transids:
                    await poll(client, f"/v1/messages/{transid}", lambda m: m["status"] == "read")
                inbox = await poll(
                    client, f"/sandbox/handsets/{numbers[0]}/messages", lambda v: len(v) == 1
                )
                assert inbox[0]["text"] == "from a worker"
            running.process.send_signal(signal.SIGTERM)
            assert running.process.wait(timeout=15) == 0
            output = running.log_path.read_text()
            assert "worker_stopping" in output and "engine_stopped" in output


async def test_serve_with_workers_supervises_and_stops_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two workers pacing apart would each allow the whole rate: without Redis, pacing is off.
    monkeypatch.setenv("WANODE_PACING", "false")
    with serve(tmp_path, "--workers", "2") as api:
        found = re.search(r"workers: 2 \(pids (\d+), (\d+)\)", api.log_path.read_text())
        assert found, api.log_path.read_text()
        pids = [int(pid) for pid in found.groups()]
        assert all(alive(pid) for pid in pids)
        # The workers print their own line once their loops run.
        deadline = time.monotonic() + 60
        while api.log_path.read_text().count("wanode worker running") < 2:
            assert time.monotonic() < deadline, api.log_path.read_text()
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=api.url, headers={"key": api.key}) as client:
            numbers = [f"4917400000{i:03d}" for i in range(10)]
            response = await client.post(
                "/resources/v1/messaging", json=text_request(api.app_id, numbers, "pooled")
            )
            for item in response.json()["response"]:
                await poll(
                    client, f"/v1/messages/{item['transid']}", lambda m: m["status"] == "read"
                )
        api.process.send_signal(signal.SIGTERM)
        assert api.process.wait(timeout=30) == 0
    for _ in range(100):
        if not any(alive(pid) for pid in pids):
            break
        await asyncio.sleep(0.05)
    assert not any(alive(pid) for pid in pids)
