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
from wanode.bench.wire import Pool, Receiver, Tally

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

    def charge(
        self, before: dict[str, float], after: dict[str, float], messages: int | None = None
    ) -> Result:
        """Record the CPU each process spent on this measurement, per message in ms (per
        `messages` when the CPU paid for more than this result's messages)."""
        count = messages or self.messages
        self.extra["cpu_ms_per_msg"] = {
            name: round((after[name] - before[name]) * 1000 / count, 3) for name in after
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


async def _post_messaging(pool: Pool, stack: Stack, body: bytes, expect: int) -> list[str]:
    """POST one Messaging API request; the transids it was given."""
    headers = {"key": stack.key, "content-type": "application/json"}
    status, raw = await pool.request("POST", "/resources/v1/messaging", body, headers)
    answers = orjson.loads(raw).get("response") if status == 200 else None
    if not isinstance(answers, list) or len(answers) != expect:
        raise RuntimeError(f"messaging API answered {status}: {raw[:300]!r}")
    refused = [a for a in answers if a.get("code") != "1001"]
    if refused:
        raise RuntimeError(f"messaging API refused {len(refused)}: {refused[0]}")
    return [str(a.get("transid", "")) for a in answers]


async def _await_reads(receiver: Receiver, tag: str, messages: int, deadline: float) -> Tally:
    """Wait until run `tag` has a `read` DR (7502) for each of its `messages`."""
    tally = receiver.tally(tag)
    while tally.count("7502") < messages:
        _check_deadline(deadline, f"{tag}: read DRs {tally.by_code}/{messages}")
        await asyncio.sleep(_POLL)
    return tally


async def _verify(stack: Stack, tally: Tally, tag: str, waids: Sequence[str]) -> dict[str, Any]:
    """Check a finished run: each message got its three DRs once each and in order, and the
    sandbox received each message once. Raises if not; the DR figures for the report."""
    problems = tally.problems(len(waids)) + await stack.sent_twice_or_missing(waids)
    if problems:
        raise RuntimeError(f"{tag}: " + "; ".join(problems))
    return {"drs": dict(tally.by_code), "dr_total": tally.total, "drs_in_order": True}


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
    ports: Sequence[int] = (),
) -> tuple[Result, Result]:
    """N messages through the Messaging API, `per_request` destinations a request, spread over
    wanode's numbers (and over `ports`, several wanode processes, when given). Returns (submit:
    until the gateway accepted all; lifecycle: until every message's `read` DR reached the
    receiver)."""
    waids = customers(first_customer, messages)
    requests = [waids[i : i + per_request] for i in range(0, messages, per_request)]
    apps = [n.app_id for n in stack.numbers]
    ports = tuple(ports) or (stack.wanode_port,)
    size = max(1, -(-concurrency // len(ports)))
    pools = [Pool("127.0.0.1", port, size) for port in ports]
    cpu = stack.cpu()
    start = time.time()

    async def send(i: int) -> None:
        batch = requests[i]
        body = _messaging_body(str(apps[i % len(apps)]), batch, tag, i)
        await _post_messaging(pools[i % len(pools)], stack, body, len(batch))

    try:
        await _workers(len(requests), concurrency, send)
    finally:
        for pool in pools:
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
    tally = await _await_reads(receiver, tag, messages, deadline)
    lifecycle_cpu = stack.cpu()
    lifecycle_seconds = max(tally.last_at.values()) - start
    shape = "single" if per_request == 1 else f"{per_request}-destination"
    processes = f", {len(ports)} wanode processes" if len(ports) > 1 else ""
    submit = Result(
        f"submit ({shape} requests{processes})",
        messages,
        submit_seconds,
        {"requests": len(requests), "api_answered_s": round(answered, 4)},
    )
    lifecycle = Result(
        f"lifecycle ({shape} requests{processes})",
        messages,
        lifecycle_seconds,
        await _verify(stack, tally, tag, waids),
    )
    return submit.charge(cpu, submit_cpu), lifecycle.charge(cpu, lifecycle_cpu)


async def _open_loop(
    stack: Stack, *, rate: float, waids: Sequence[str], concurrency: int, tag: str
) -> tuple[list[float], float, dict[str, float]]:
    """Single-destination requests, one to each of `waids`, offered at `rate` a second (an open
    loop: each request is due at its own time, whether or not earlier ones have answered).
    Returns each request's latency from when it was due, the wall-clock start, and each
    message's due time on the wall clock (the receiver's) by transid."""
    apps = [n.app_id for n in stack.numbers]
    pool = Pool("127.0.0.1", stack.wanode_port, concurrency)
    latencies: list[float] = []
    due_at: dict[str, float] = {}
    start = time.perf_counter() + 0.05
    wall_start = time.time() + 0.05

    async def one(i: int) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        body = _messaging_body(str(apps[i % len(apps)]), [waids[i]], tag, i)
        for transid in await _post_messaging(pool, stack, body, 1):
            due_at[transid] = wall_start + i / rate
        latencies.append(time.perf_counter() - due)

    try:
        await asyncio.gather(*(one(i) for i in range(len(waids))))
    finally:
        await pool.close()
    return sorted(latencies), wall_start, due_at


def _latency_figures(ordered: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(_percentile(ordered, 0.50) * 1000, 2),
        "p90_ms": round(_percentile(ordered, 0.90) * 1000, 2),
        "p99_ms": round(_percentile(ordered, 0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def wanode_open_loop(
    stack: Stack,
    receiver: Receiver,
    *,
    rate: float,
    seconds: float,
    concurrency: int,
    first_customer: int,
    tag: str,
    phase_timeout: float,
    lifecycle: bool,
) -> Result:
    """Single-destination requests offered at `rate` a second for `seconds`, with their
    latencies, each from when its request was due (so a server that falls behind is charged
    for the queue it causes).

    Without `lifecycle`, the API's latency: time and CPU are charged until the last answer;
    the run's DRs are then awaited and checked (outside the figures), so that they do not load
    the next measurement. With it, a trickle (50 a second: far below the ceiling) timed until
    the last `read` DR: every message then passes through the engine's loops nearly alone, so
    wanode's CPU per message shows what each pass costs whatever it carries."""
    count = max(1, int(rate * seconds))
    waids = customers(first_customer, count)
    cpu = stack.cpu()
    ordered, wall_start, due = await _open_loop(
        stack, rate=rate, waids=waids, concurrency=concurrency, tag=tag
    )
    figures = {"offered_per_s": rate, **_latency_figures(ordered)}
    if lifecycle:
        tally = await _await_reads(receiver, tag, count, time.monotonic() + phase_timeout)
        spent = stack.cpu()
        # How long each message took from its request's due time to its 7501 (submitted) DR:
        # the engine's way end to end (dispatch, send, record, DR), the handsets' delays aside.
        submitted = sorted(
            tally.first[(transid, "7501")] - at
            for transid, at in due.items()
            if (transid, "7501") in tally.first
        )
        dr = {f"submitted_dr_{k}": v for k, v in _latency_figures(submitted).items()}
        return Result(
            f"lifecycle at {rate:g} msg/s offered (single requests)",
            count,
            max(tally.last_at.values()) - wall_start,
            {**figures, **dr, **await _verify(stack, tally, tag, waids)},
        ).charge(cpu, spent)
    elapsed = time.time() - wall_start
    result = Result(
        f"API accept latency at {rate:g} msg/s offered", count, elapsed, figures
    ).charge(cpu, stack.cpu())
    tally = await _await_reads(receiver, tag, count, time.monotonic() + phase_timeout)
    result.extra.update(await _verify(stack, tally, tag, waids))
    return result


async def wanode_request_1000(
    stack: Stack,
    receiver: Receiver,
    *,
    campaign: int,
    concurrency: int,
    first_customer: int,
    tag: str,
    phase_timeout: float,
    settle: float,
) -> tuple[Result, Result]:
    """How long one 1,000-destination request takes to be answered: on an idle stack, and
    again while a campaign (`campaign` messages in 1,000-destination requests, all accepted
    just before) is being sent, its statuses processed and its DRs posted. Each figure's CPU
    runs until the last `read` DR of what it sent (the busy one: campaign and request)."""
    apps = [n.app_id for n in stack.numbers]
    idle_waids = customers(first_customer, BATCH)
    busy_waids = customers(first_customer + BATCH, BATCH)
    campaign_waids = customers(first_customer + 2 * BATCH, campaign)
    requests = [campaign_waids[i : i + BATCH] for i in range(0, campaign, BATCH)]

    async def probe(waids: list[str], probe_tag: str) -> float:
        # A connection of its own, opened before the clock starts (a kept-alive one may have
        # been closed by the server while the stack idled).
        pool = Pool("127.0.0.1", stack.wanode_port, 1)
        try:
            await pool.request("GET", "/healthz")
            body = _messaging_body(str(apps[0]), waids, probe_tag, 0)
            began = time.perf_counter()
            await _post_messaging(pool, stack, body, len(waids))
            return time.perf_counter() - began
        finally:
            await pool.close()

    cpu = stack.cpu()
    idle = await probe(idle_waids, f"{tag}-idle")
    idle_tally = await _await_reads(
        receiver, f"{tag}-idle", BATCH, time.monotonic() + phase_timeout
    )
    idle_cpu = stack.cpu()
    idle_result = Result(
        "1000-destination request latency, idle stack",
        BATCH,
        idle,
        {
            "latency_ms": round(idle * 1000, 2),
            **await _verify(stack, idle_tally, f"{tag}-idle", idle_waids),
        },
    ).charge(cpu, idle_cpu)
    await asyncio.sleep(settle)
    pool = Pool("127.0.0.1", stack.wanode_port, concurrency)

    async def send(i: int) -> None:
        body = _messaging_body(str(apps[i % len(apps)]), requests[i], f"{tag}-campaign", i)
        await _post_messaging(pool, stack, body, len(requests[i]))

    cpu = stack.cpu()
    began = time.perf_counter()
    try:
        await _workers(len(requests), concurrency, send)
    finally:
        await pool.close()
    campaign_answered = time.perf_counter() - began
    busy = await probe(busy_waids, f"{tag}-busy")
    deadline = time.monotonic() + phase_timeout
    busy_tally = await _await_reads(receiver, f"{tag}-busy", BATCH, deadline)
    campaign_tally = await _await_reads(receiver, f"{tag}-campaign", campaign, deadline)
    busy_cpu = stack.cpu()
    campaign_checked = await _verify(stack, campaign_tally, f"{tag}-campaign", campaign_waids)
    busy_result = Result(
        "1000-destination request latency during a campaign",
        BATCH,
        busy,
        {
            "latency_ms": round(busy * 1000, 2),
            "campaign_messages": campaign,
            "campaign_requests": len(requests),
            "campaign_answered_s": round(campaign_answered, 4),
            "campaign_drs": campaign_checked["drs"],
            **await _verify(stack, busy_tally, f"{tag}-busy", busy_waids),
        },
    )
    return idle_result, busy_result.charge(cpu, busy_cpu, BATCH + campaign)


async def wanode_idle(stack: Stack, *, seconds: float, quiet: float) -> Result:
    """wanode's CPU with nothing to do: `quiet` seconds for the last work and the loops' waits
    to run out (they back off to WANODE_IDLE_POLL_MAX), then `seconds` measured; as % of one
    core per process."""
    await asyncio.sleep(quiet)
    cpu = stack.cpu()
    began = time.perf_counter()
    await asyncio.sleep(seconds)
    after = stack.cpu()
    elapsed = time.perf_counter() - began
    share = {name: round(100 * (after[name] - cpu[name]) / elapsed, 3) for name in after}
    return Result(f"idle wanode serve ({seconds:g} s)", 0, elapsed, {"cpu_percent_of_core": share})


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
