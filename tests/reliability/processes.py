"""Starting `wanode serve` and `wanode sandbox` processes for the reliability tests: all at once
(each takes seconds to import on a busy machine), then waiting for each to say it is ready."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from tests.acceptance.test_serve import WANODE

READY = {"serve": "wanode listening", "sandbox": "sandbox listening"}
# Generous: three processes importing at once on two busy cores took over 30 s.
START_TIMEOUT = 120.0
FIRST_KEY = "API key (shown once, keep it):"


def wait_for_line(log_path: Path, process: subprocess.Popen[str], text: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if text in log_path.read_text():
            return
        if process.poll() is not None:
            raise AssertionError(f"process died before {text!r}:\n" + log_path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} within {START_TIMEOUT} s:\n" + log_path.read_text())


@contextmanager
def launched(
    tmp_path: Path, commands: dict[str, tuple[list[str], dict[str, str]]]
) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """`{name: (args, env)}` started together; each is waited for (READY by its command), and
    stopped with SIGTERM (then SIGKILL) at the end. Output goes to `<name>.log`."""
    processes: dict[str, subprocess.Popen[str]] = {}
    try:
        for name, (args, env) in commands.items():
            with (tmp_path / f"{name}.log").open("w") as log:
                processes[name] = subprocess.Popen(
                    [WANODE, *args],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                    env=env,
                    cwd=tmp_path,
                )
        for name, (args, _env) in commands.items():
            wait_for_line(tmp_path / f"{name}.log", processes[name], READY[args[0]])
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def first_key(tmp_path: Path, name: str) -> str:
    """The admin key a `wanode serve` on an empty database printed."""
    lines = (tmp_path / f"{name}.log").read_text().splitlines()
    return lines[lines.index(FIRST_KEY) + 1].strip()


async def add_app(api: httpx.AsyncClient, **fields: object) -> str:
    """Register an app through the API; its id."""
    answer = await api.post("/v1/apps", json=fields)
    assert answer.status_code == 201, answer.text
    app_id: str = answer.json()["id"]
    return app_id
