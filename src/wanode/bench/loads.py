"""The measurements: each sends N messages one way and times it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from wanode.bench.stack import API_VERSION, Stack
from wanode.bench.wire import Pool, Receiver

TEXT = "Your table is ready"
BATCH = 1000
_POLL = 0.05


@dataclass
class Result:
    """One measurement: `messages` in `seconds`, and what else it observed."""

    name: str
    messages: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "messages": self.messages,
            "seconds": round(self.seconds, 4),
            "msg_per_s": round(self.rate, 1),
            **self.extra,
        }

    def charge(self, before: dict[str, float], after: dict[str, float]) -> Result:
        """Record the CPU each process spent on this measurement, per message in ms."""
        self.extra["cpu_ms_per_msg"] = {
            name: round((after[name] - before[name]) * 1000 / self.messages, 3) for name in after
        }
        return self


def customers(start: int, count: int) -> list[str]:
    """`count` distinct German mobile numbers (13-digit WA IDs), from index `start`."""
    return [f"49151{start + i:08d}" for i in range(count)]


async def _workers(count: int, concurrency: int, work: Callable[[int], Awaitable[None]]) -> None:
    """Run work(0..count-1) on `concurrency` tasks."""
    it = iter(range(count))

    async def worker() -> None:
        for i in it:
            await work(i)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))


def _wa(i: int) -> dict[str, Any]:
    return {"type": "text", "text": {"body": f"{TEXT} ({i})", "preview_url": False}}


def _messaging_body(app_id: str, waids: Sequence[str], tag: str, first: int) -> bytes:
    body = {
        "appid": app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": list(waids)}],
        "correlationid": tag,
        "channels": {"OTT-Messaging": {"wa": _wa(first)}},
    }
    return orjson.dumps(body)


async def _post_messaging(pool: Pool, stack: Stack, body: bytes, expect: int) -> None:
    headers = {"key": stack.key, "content-type": "application/json"}
    status, raw = await pool.request("POST", "/resources/v1/messaging", body, headers)
    answers = orjson.loads(raw).get("response") if status == 200 else None
    if not isinstance(answers, list) or len(answers) != expect:
        raise RuntimeError(f"messaging API answered {status}: {raw[:300]!r}")
    refused = [a for a in answers if a.get("code") != "1001"]
    if refused:
        raise RuntimeError(f"messaging API refused {len(refused)}: {refused[0]}")


async def wanode_submit(
    stack: Stack,
    receiver: Receiver,
    *,
    messages: int,
    per_request: int,
    concurrency: int,
    first_customer: int,
    tag: str,
    phase_timeout: float,
) -> tuple[Result, Result]:
    """N messages through the Messaging API, `per_request` destinations a request, spread over
    wanode's numbers. Returns (submit: until the gateway accepted all; lifecycle: until every
    message's `read` DR reached the receiver)."""
    receiver.reset()
    waids = customers(first_customer, messages)
    requests = [waids[i : i + per_request] for i in range(0, messages, per_request)]
    apps = [n.app_id for n in stack.numbers]
    pool = Pool("127.0.0.1", stack.wanode_port, concurrency)
    cpu = stack.cpu()
    start = time.time()

    async def send(i: int) -> None:
        batch = requests[i]
        body = _messaging_body(str(apps[i % len(apps)]), batch, tag, i)
        await _post_messaging(pool, stack, body, len(batch))

    try:
        await _workers(len(requests), concurrency, send)
    finally:
        await pool.close()
    answered = time.time() - start
    deadline = time.monotonic() + phase_timeout
    while True:
        accepted, last = await stack.count_accepted(tag)
        if accepted >= messages:
            break
        _check_deadline(deadline, f"{tag}: gateway accepted {accepted}/{messages}")
        await asyncio.sleep(_POLL)
    submit_seconds = float(last) - start if last is not None else time.time() - start
    submit_cpu = stack.cpu()
    while receiver.tally.count("7502") < messages:
        _check_deadline(deadline, f"{tag}: read DRs {receiver.tally.by_code}/{messages}")
        await asyncio.sleep(_POLL)
    tally = receiver.tally
    lifecycle_seconds = max(tally.last_at.values()) - start
    shape = "single" if per_request == 1 else f"{per_request}-destination"
    submit = Result(
        f"submit ({shape} requests)",
        messages,
        submit_seconds,
        {"requests": len(requests), "api_answered_s": round(answered, 4)},
    )
    lifecycle = Result(
        f"lifecycle ({shape} requests)",
        messages,
        lifecycle_seconds,
        {"drs": dict(tally.by_code), "dr_total": tally.total},
    )
    return submit.charge(cpu, submit_cpu), lifecycle.charge(cpu, stack.cpu())


async def wanode_latency(
    stack: Stack, *, rate: float, seconds: float, concurrency: int, first_customer: int, tag: str
) -> Result:
    """Single-destination requests offered at `rate` a second (an open loop: each request is due
    at its own time, whether or not earlier ones have answered). A request's latency runs from
    when it was due, so a server that falls behind is charged for the queue it causes."""
    count = max(1, int(rate * seconds))
    waids = customers(first_customer, count)
    apps = [n.app_id for n in stack.numbers]
    pool = Pool("127.0.0.1", stack.wanode_port, concurrency)
    latencies: list[float] = []
    cpu = stack.cpu()
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        body = _messaging_body(str(apps[i % len(apps)]), [waids[i]], tag, i)
        await _post_messaging(pool, stack, body, 1)
        latencies.append(time.perf_counter() - due)

    try:
        await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        await pool.close()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return Result(
        f"API accept latency at {rate:g} msg/s offered",
        count,
        elapsed,
        {
            "offered_per_s": rate,
            "p50_ms": round(_percentile(ordered, 0.50) * 1000, 2),
            "p90_ms": round(_percentile(ordered, 0.90) * 1000, 2),
            "p99_ms": round(_percentile(ordered, 0.99) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2),
        },
    ).charge(cpu, stack.cpu())


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cloud_payload(to: str, i: int) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        **_wa(i),
    }


async def sandbox_ceiling(
    stack: Stack, *, messages: int, concurrency: int, connections: int, first_customer: int
) -> Result:
    """Bare httpx POSTs of Cloud API text messages straight at the sandbox: the setup's limit.

    `concurrency` requests are in flight over at most `connections` connections: httpx's pool
    slows down as it grows (it checks every idle connection on each request), so a few
    connections carry more than many."""
    waids = customers(first_customer, messages)
    peers = stack.peers
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=stack.sandbox_url, limits=limits, timeout=30.0, trust_env=False
    ) as client:
        cpu = stack.cpu()
        start = time.perf_counter()

        async def send(i: int) -> None:
            peer = peers[i % len(peers)]
            response = await client.post(
                f"/{API_VERSION}/{peer.phone_number_id}/messages",
                json=_cloud_payload(waids[i], i),
                headers={"Authorization": f"Bearer {peer.access_token}"},
            )
            if response.status_code != 200:
                raise RuntimeError(f"sandbox answered {response.status_code}: {response.text}")

        await _workers(messages, concurrency, send)
        elapsed = time.perf_counter() - start
    extra = {"concurrency": concurrency, "connections": connections}
    result = Result("sandbox ceiling (bare httpx)", messages, elapsed, extra)
    return result.charge(cpu, stack.cpu())


async def pywa_peer(
    stack: Stack, *, messages: int, concurrency: int, connections: int, first_customer: int
) -> Result:
    """pywa's async client sending the same texts to the same sandbox, as fast as it can.

    pywa builds its own httpx session's base URL from Graph's host; it takes the session we
    give it, so after construction the session is pointed at the sandbox instead.
    """
    from pywa_async.client import WhatsApp

    waids = customers(first_customer, messages)
    sessions: list[httpx.AsyncClient] = []
    clients: list[Any] = []
    per_client = max(1, connections // len(stack.peers))
    for peer in stack.peers:
        limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
        session = httpx.AsyncClient(limits=limits, timeout=30.0, trust_env=False)
        clients.append(
            WhatsApp(
                phone_id=peer.phone_number_id,
                token=peer.access_token,
                session=session,
                api_version=API_VERSION.removeprefix("v"),
            )
        )
        session.base_url = httpx.URL(f"{stack.sandbox_url}/{API_VERSION}")
        sessions.append(session)
    try:
        cpu = stack.cpu()
        start = time.perf_counter()

        async def send(i: int) -> None:
            wa = clients[i % len(clients)]
            await wa.send_message(to=waids[i], text=f"{TEXT} ({i})")

        await _workers(messages, concurrency, send)
        elapsed = time.perf_counter() - start
        spent = stack.cpu()
    finally:
        for session in sessions:
            await session.aclose()
    extra = {"concurrency": concurrency, "connections": per_client * len(clients)}
    return Result("pywa peer (async client)", messages, elapsed, extra).charge(cpu, spent)


def _check_deadline(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"benchmark phase timed out: {what}")
