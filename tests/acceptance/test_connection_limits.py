"""Connection limits, and the same request bounds on every server wanode starts: `serve`, the
standalone `sandbox` and `listen`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from tests.acceptance.test_serve import WANODE, serve
from tests.support.receiver import free_port

pytestmark = pytest.mark.acceptance

MIB = 1024 * 1024


def raw_exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Writes `data` on a new connection and reads until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


def test_connections_past_the_limit_are_answered_503(tmp_path: Path) -> None:
    env = {"WANODE_MAX_CONNECTIONS": "6", "WANODE_HEADER_TIMEOUT": "20"}
    with serve(tmp_path, env=env) as service, ExitStack() as held:
        port = int(service.url.rsplit(":", 1)[1])
        # Six idle connections fill the limit (uvicorn counts open connections and tasks).
        for _ in range(6):
            held.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.3)
        answer = raw_exchange(
            port, b"GET /healthz HTTP/1.1\r\nhost: w\r\nconnection: close\r\n\r\n"
        )
        assert answer.startswith(b"HTTP/1.1 503 "), answer
        held.close()
        # Once they are gone, the service answers again.
        deadline = time.monotonic() + 10
        while True:
            status = httpx.get(f"{service.url}/healthz", timeout=5).status_code
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert status == 200


@contextmanager
def command(tmp_path: Path, *args: str) -> Iterator[int]:
    """`wanode <args> --port P` in the background, once it accepts connections: its port."""
    port = free_port()
    log_path = tmp_path / f"{args[0]}-{port}.log"
    env = {
        **os.environ,
        "WANODE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/wanode.db",
        "WANODE_HEADER_TIMEOUT": "1",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [WANODE, *args, "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize("args", [("sandbox",), ("listen",)], ids=["sandbox", "listen"])
def test_standalone_servers_bound_headers_and_bodies(tmp_path: Path, args: tuple[str]) -> None:
    with command(tmp_path, *args) as port:
        huge_headers = b"GET / HTTP/1.1\r\nhost: w\r\nx-junk: " + b"j" * (128 * 1024) + b"\r\n\r\n"
        assert raw_exchange(port, huge_headers).startswith(b"HTTP/1.1 431 ")
        declared = b"POST /x HTTP/1.1\r\nhost: w\r\ncontent-length: %d\r\n\r\n" % (200 * MIB)
        assert raw_exchange(port, declared).startswith(b"HTTP/1.1 413 ")
        # Headers that never finish are cut off by the header timeout (1 s here).
        started = time.monotonic()
        assert raw_exchange(port, b"GET / HTTP/1.1\r\nhost: w", timeout=10) == b""
        assert time.monotonic() - started < 8


def test_the_sandbox_is_mounted_only_with_the_sandbox_gateway(tmp_path: Path) -> None:
    (tmp_path / "with").mkdir()
    (tmp_path / "without").mkdir()
    with serve(tmp_path / "with") as service:
        assert httpx.get(f"{service.url}/sandbox/numbers", timeout=5).status_code != 404
    with serve(tmp_path / "without", "--no-sandbox") as service:
        for path in ("/sandbox/numbers", "/sandbox/handsets/4915112345678/messages"):
            assert httpx.get(f"{service.url}{path}", timeout=5).status_code == 404
        assert httpx.get(f"{service.url}/healthz", timeout=5).status_code == 200
