"""The HTTP client's cost per request: httpx on its own transport (httpcore, h11), httpx on
wanode's cold-path transport (`wanode.transport.PooledTransport`, aiohttp beneath), aiohttp's
session used directly (no cookie jar, no decompression), and wanode's hot-path client
(`wanode.transport.LeanClient`, an asyncio protocol with httptools' parser), posting a DR-sized
JSON body to a loopback uvicorn server, 16 in flight over 16 kept-alive connections. The server
runs in its own process; the figure that matters is the client's CPU per request.

    .venv/bin/python -m wanode.bench.transport [--requests 4000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Mapping

import aiohttp
import httpx

from wanode.bench.stack import free_port
from wanode.transport import HttpxPoster, LeanClient, PooledTransport, Poster, Reply

SERVER = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
BODY = b'{"transid": "%s", "deliverystatus": "7502", "payload": "%s"}' % (b"x" * 36, b"y" * 300)
CONNECTIONS = 16


class AiohttpClient:
    """aiohttp's session used directly, as lean as it goes: the step before `LeanClient`."""

    def __init__(self, connections: int) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=connections),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent"),
            timeout=aiohttp.ClientTimeout(total=10.0),
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        async with self._session.post(url, data=body, headers=headers) as response:
            return Reply(response.status, await response.read())

    async def aclose(self) -> None:
        await self._session.close()


async def measure(client: Poster, url: str, requests: int) -> tuple[float, float]:
    """(requests a second, client CPU milliseconds a request)."""
    slots = asyncio.Semaphore(CONNECTIONS)
    headers = {"Content-Type": "application/json"}

    async def one() -> None:
        async with slots:
            reply = await client.post(url, BODY, headers)
            assert reply.status_code == 200

    await asyncio.gather(*(one() for _ in range(200)))  # connections opened, code warm
    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(requests)))
    wall, used = time.perf_counter() - began, time.process_time() - cpu
    return requests / wall, 1000 * used / requests


async def run(url: str, requests: int, rounds: int) -> None:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    results: dict[str, list[float]] = {"httpx": [], "pooled": [], "aiohttp": [], "lean": []}
    for _ in range(rounds):
        for name in results:
            client: Poster
            if name == "lean":
                client = LeanClient(timeout=10.0, per_origin=CONNECTIONS)
            elif name == "aiohttp":
                client = AiohttpClient(CONNECTIONS)
            else:
                transport = PooledTransport(CONNECTIONS) if name == "pooled" else None
                client = HttpxPoster(httpx.AsyncClient(transport=transport, limits=limits))
            try:
                rate, cpu = await measure(client, url, requests)
            finally:
                await client.aclose()
            results[name].append(cpu)
            print(f"{name:7s} {rate:7.0f} req/s  client CPU {cpu:.3f} ms/request")
    best = {name: min(cpus) for name, cpus in results.items()}
    for name in ("httpx", "pooled", "aiohttp"):
        print(f"CPU per request, {name} / lean: {best[name] / best['lean']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        asyncio.run(run(f"http://127.0.0.1:{port}/dr", args.requests, args.rounds))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
