"""`wanode serve` under hostile requests: huge chunked bodies, slow bodies, slow or huge headers,
non-ASCII tokens. Each is refused quickly, and none grows the server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from tests.acceptance.test_serve import Service, serve, text_request

pytestmark = pytest.mark.acceptance

MIB = 1024 * 1024
LIMIT = 4 * MIB  # the default WANODE_MAX_REQUEST_BYTES


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    timeouts = {"WANODE_REQUEST_BODY_TIMEOUT": "1", "WANODE_HEADER_TIMEOUT": "1"}
    with serve(tmp_path_factory.mktemp("bounded"), env=timeouts) as running:
        yield running


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class PeakRss:
    """Samples a process's resident set every few milliseconds while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.002)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()


class Body:
    """`total` bytes of junk as a chunked body; `sent` is how much the server let through."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total = total
        self.chunk = b"x" * chunk
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            self.sent += len(self.chunk)
            yield self.chunk


def exchange(service: Service, *parts: bytes, pause: float = 0.0, timeout: float = 5) -> bytes:
    """Writes `parts` on one raw connection (`pause` seconds apart) and reads until the server
    closes it: what the server answered, if anything."""
    address = urlsplit(service.url)
    assert address.hostname and address.port
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as sock:
        try:
            for part in parts:
                sock.sendall(part)
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before we are done; what it said is still to be read
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def json_of(answer: bytes) -> object:
    return orjson.loads(answer.split(b"\r\n\r\n", 1)[1])


def test_a_200_mib_chunked_webhook_is_refused_without_growing_the_server(
    service: Service,
) -> None:
    pid = service.process.pid
    with httpx.Client(base_url=service.url, timeout=10) as client:
        assert client.post("/webhooks/whatsapp", content=b"{}").status_code == 401  # warm up
        body = Body(200 * MIB)
        before = rss_kib(pid)
        started = time.monotonic()
        with PeakRss(pid) as peak:
            response = client.post("/webhooks/whatsapp", content=body)
        elapsed = time.monotonic() - started
        after = rss_kib(pid)
    print(
        f"RSS before {before} KiB, peak {peak.peak} KiB, after {after} KiB; "
        f"{body.sent / MIB:.1f} MiB sent before the refusal, in {elapsed:.2f} s"
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "7004", "message": f"Request body over {LIMIT} bytes"}
    }
    assert peak.peak - before < 10 * 1024 and after - before < 10 * 1024
    # The server hung up rather than read the rest and throw it away.
    assert body.sent < 50 * MIB and elapsed < 5


def test_a_5_mib_chunked_send_request_is_refused(service: Service) -> None:
    request = orjson.dumps(text_request(service.app_id, ["4915112345678"], "x" * (5 * MIB)))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(request), 64 * 1024):
            yield request[start : start + 64 * 1024]

    response = httpx.post(
        f"{service.url}/resources/v1/messaging",
        content=chunks(),
        headers={"key": service.key, "content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["response"]["code"] == "7004"


def test_a_body_that_stalls_is_answered_408(service: Service) -> None:
    started = time.monotonic()
    answer = exchange(
        service,
        b"POST /webhooks/whatsapp HTTP/1.1\r\nhost: wanode\r\ntransfer-encoding: chunked\r\n"
        b'content-type: application/json\r\n\r\n2\r\n{"\r\n',
    )
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert json_of(answer) == {
        "error": {"code": "7004", "message": "Request body not received within 1 s"}
    }
    assert time.monotonic() - started < 3


def test_headers_that_stall_or_never_come_are_cut_off(service: Service) -> None:
    started = time.monotonic()
    assert exchange(service) == b""
    assert exchange(service, b"GET /healthz HTTP/1.1\r\n", b"host: wa", pause=0.4) == b""
    assert time.monotonic() - started < 5
    # A keep-alive connection idle between two requests is not a stalled header.
    with httpx.Client(base_url=service.url) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(1.5)
        assert client.get("/healthz").status_code == 200


def test_headers_too_large_are_answered_431(service: Service) -> None:
    answer = exchange(
        service, b"GET /healthz HTTP/1.1\r\nhost: wanode\r\nx-junk: ", *[b"j" * 65536] * 64
    )
    assert answer.startswith(b"HTTP/1.1 431 "), answer
    assert json_of(answer) == {
        "error": {"code": "7004", "message": "Request headers over 65536 bytes"}
    }
    # Large headers under the limit pass, and so does a body sent with its headers in one go.
    big = b"".join(b"x-h%d: %s\r\n" % (i, b"v" * 1000) for i in range(40))
    answer = exchange(
        service, b"GET /healthz HTTP/1.1\r\nhost: wanode\r\nconnection: close\r\n" + big + b"\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    answer = exchange(
        service,
        b"POST /webhooks/whatsapp HTTP/1.1\r\nhost: wanode\r\nconnection: close\r\n"
        b"content-length: %d\r\n\r\n%s" % (MIB, b" " * MIB),
    )
    assert answer.startswith(b"HTTP/1.1 401 "), answer


def test_non_ascii_tokens_and_signatures_are_refused_not_crashed(service: Service) -> None:
    with httpx.Client(base_url=service.url, timeout=5) as client:
        verify = client.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=%C3%A9")
        assert verify.status_code == 403
        signed = client.post(
            "/webhooks/whatsapp",
            content=b"{}",
            headers={"x-hub-signature-256": "sha256=é".encode()},
        )
        assert signed.status_code == 401
        keyed = client.post(
            "/resources/v1/messaging",
            json=text_request(service.app_id, ["4915112345678"], "hi"),
            headers={"key": "é".encode()},
        )
        assert keyed.status_code == 401 and keyed.json()["response"]["code"] == "7001"
    # Raw UTF-8 in the request line, as curl sends an unencoded URL.
    answer = exchange(
        service,
        "GET /webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=é HTTP/1.1\r\n"
        "host: wanode\r\nconnection: close\r\n\r\n".encode(),
    )
    assert answer.startswith((b"HTTP/1.1 403 ", b"HTTP/1.1 400 ")), answer
