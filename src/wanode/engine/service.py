"""The engine: the long-running loops, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx
import structlog

from wanode.config import Settings
from wanode.engine.clicks import Clicks
from wanode.engine.dispatcher import Dispatcher
from wanode.engine.flows import FlowRunner
from wanode.engine.forwarder import Forwarder
from wanode.engine.gateways import Gateways
from wanode.engine.media_fetch import MediaFetcher
from wanode.engine.notifier import Notifier
from wanode.engine.processor import StatusProcessor
from wanode.engine.spacing import next_spacing
from wanode.engine.templates import TemplateSync
from wanode.engine.wakeups import Wakeups
from wanode.guard import url_guard
from wanode.notify.auth import NotifyAuth
from wanode.notify.client import NotifyClient
from wanode.pacing import build_limiter
from wanode.store import Database
from wanode.transport import PooledTransport

log = structlog.get_logger(__name__)

# Loops whose passes move messages' statuses (the dispatcher, whose sends end after its pass,
# says so itself: `Dispatcher(recorded=...)`).
_MOVES_MESSAGES = frozenset({"status"})
# Stored status webhooks the status processor applies per pass.
STATUS_BATCH = 500
# Loops whose wake-ups come by the thousand in a campaign (its sends, statuses and DRs): their
# passes are spaced by the rate they find work at (`spacing.next_spacing`). The others keep
# a fixed spacing: a person may wait on them (flows, forwarded events), or they are rare.
_SPACED_BY_RATE = frozenset({"dispatch", "status", "notify"})


class Engine:
    """Dispatcher, status processor and notifier over one database.

    Each loop runs a pass, and sleeps unless the pass filled its batch; `wake()` (called by the
    API after it queues work) cuts the sleep short, in other processes too when `redis_url` is
    set, and the wake-ups that come within `pass_spacing` of a pass's start share the next
    pass. Several engines in several processes may share a PostgreSQL database: every claim is
    a lease or a row lock taken with SKIP LOCKED.

    `loops=False` makes an engine that runs no loop (an API process beside `wanode worker`
    processes): it only wakes the workers.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        gateways: Gateways,
        *,
        notify_client: NotifyClient | None = None,
        clock: Callable[[], float] = time.time,
        loops: bool = True,
    ) -> None:
        self.db = db
        self.settings = settings
        self.gateways = gateways
        self.clock = clock
        self.notify_client = notify_client or NotifyClient(
            timeout=settings.notify_timeout,
            allow_private=settings.private_urls_allowed(),
            tls=_notify_tls(settings),
        )
        self.limiter = build_limiter(settings.redis_url) if settings.pacing else None
        self.dispatcher = Dispatcher(
            db,
            gateways,
            settings,
            clock=clock,
            limiter=self.limiter,
            wake=lambda: self._woken(("dispatch",)),
            # A send's outcome is recorded: its DR is queued, a flow run may wait for it, and
            # its statuses may have come first (stored until their message is known by its
            # wamid: without this they would wait for the status loop's next poll).
            recorded=lambda: self._woken(self._after_moves(("status", "notify"))),
        )
        self.processor = StatusProcessor(db, settings, clock=clock, batch=STATUS_BATCH)
        # OAuth2 tokens for notify-URL auth profiles: a cold path (a token lasts an hour),
        # guarded as the notify URLs are.
        self._token_client = httpx.AsyncClient(
            timeout=settings.notify_timeout,
            follow_redirects=False,
            transport=PooledTransport(4, guard=url_guard(settings.private_urls_allowed())),
        )
        self.notifier = Notifier(
            db,
            self.notify_client,
            settings,
            clock=clock,
            wake=lambda: self._woken(("notify",)),
            auth=NotifyAuth(self._token_client),
        )
        self.forwarder = Forwarder(
            db, self.notify_client, settings, clock=clock, wake=lambda: self._woken(("forward",))
        )
        self.media_fetcher = MediaFetcher(db, gateways, settings, clock=clock)
        self.templates = TemplateSync(db, gateways, settings, clock=clock)
        self.flows = FlowRunner(db, settings, clock=clock, wake=self.wake)
        # Not a loop: short-link clicks are written as they come, in any process that
        # redirects (an API process beside workers too), and wake the couriers.
        self.clicks = Clicks(db, clock=clock, wake=self.wake)
        self._loops = loops
        self._wakeups = Wakeups.from_url(settings.redis_url) if settings.redis_url else None
        self._wake = {
            name: asyncio.Event()
            for name in ("dispatch", "status", "notify", "forward", "media", "templates", "flows")
        }
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncio.Task[None] | None = None

    def wake(self, *loops: str) -> None:
        names = loops or tuple(self._wake)
        self._woken(names)
        if self._wakeups is not None:
            self._wakeups.publish(names)

    def _after_moves(self, loops: tuple[str, ...]) -> tuple[str, ...]:
        """The loops to wake when messages' statuses moved: `loops`, and flows while a run may
        be waiting on a message (a campaign without flows runs no flow passes)."""
        return (*loops, "flows") if self.flows.watches_messages else loops

    def _woken(self, loops: Sequence[str]) -> None:
        for name in loops:
            event = self._wake.get(name)
            if event is not None:
                event.set()

    def start(self) -> None:
        self._stopping.clear()
        if not self._loops:
            log.info("engine_started", loops=[])
            return
        # Each loop's step, and what a pass's count must reach for the loop to go straight on
        # (a full batch: more may be due now); a smaller one took all that was due, and what
        # comes later brings a wake-up. None: any work found means going straight on.
        loops: dict[str, tuple[Callable[[], Awaitable[int]], int | None]] = {
            "status": (self.processor.run_once, STATUS_BATCH),
            # Couriers claim and start deliveries; a pass does not wait for slow receivers.
            "notify": (self.notifier.pump, self.notifier.batch),
            "forward": (self.forwarder.pump, self.forwarder.batch),
            "dispatch": (self.dispatcher.pump, self.settings.dispatch_batch),
            "media": (self.media_fetcher.run_once, None),
            "templates": (self.templates.run_once, None),
            "flows": (self.flows.run_once, None),
        }
        if self._wakeups is not None:
            self._listener = asyncio.create_task(
                self._wakeups.listen(self._woken), name="wanode-wakeups-listen"
            )
        for name, (step, full) in loops.items():
            self._tasks.append(
                asyncio.create_task(self._loop(name, step, full), name=f"wanode-{name}")
            )
        log.info("engine_started", loops=sorted(loops))

    async def stop(self, grace: float = 10.0) -> None:
        """Let each loop finish the pass it is in, then stop; cancel what outlives `grace`.

        Cancelling a pass in the middle of a database call can leave the driver's connection
        waiting on a result nobody collects, so loops are asked to stop between passes.
        """
        self._stopping.set()
        for event in self._wake.values():
            event.set()
        await self.clicks.drain()
        if self._tasks:
            _done, late = await asyncio.wait(self._tasks, timeout=grace)
            for task in late:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._wakeups is not None:
            await self._wakeups.aclose()
        # Deliveries still on their way get what is left of the grace; the leases of those
        # cut short run out and a later pass sends them again.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(
                    self.dispatcher.drain(), self.notifier.drain(), self.forwarder.drain()
                ),
                timeout=grace,
            )
        await self.notify_client.aclose()
        await self._token_client.aclose()
        await self.gateways.aclose()
        await self.dispatcher.aclose()
        await self.flows.aclose()
        if self.limiter is not None:
            await self.limiter.aclose()
        log.info("engine_stopped")

    async def run_until_idle(self, rounds: int = 3) -> None:
        """Run passes until every loop finds nothing to do `rounds` times in a row (for tests)."""
        idle = 0
        while idle < rounds:
            await self.clicks.drain()
            work = (
                await self.dispatcher.run_once()
                + await self.processor.run_once()
                + await self.notifier.run_once()
                + await self.forwarder.run_once()
                + await self.media_fetcher.run_once()
                + await self.templates.run_once()
                + await self.flows.run_once()
            )
            idle = idle + 1 if work == 0 else 0

    async def _loop(
        self, name: str, step: Callable[[], Awaitable[int]], full: int | None = None
    ) -> None:
        """Run `step` pass after pass: at once after a full pass (`full` items; None: any),
        else at the next wake-up or poll.

        A pass has a fixed cost whatever it carries (a transaction, a claim, tasks), so a
        wake-up that comes less than the loop's spacing after the last pass began waits for
        the rest of it, and every wake-up in that time is served by the one pass: at a modest
        rate a pass then carries several messages, not one, and a pass that claimed everything
        due is not followed by one that finds nothing. The spacing is `pass_spacing`, or for
        a campaign's loops (`_SPACED_BY_RATE`) the time a pass's worth of work takes to come,
        up to `pass_spacing_max` (`spacing.next_spacing`).
        """
        wake = self._wake[name]
        # An idle loop polls ever less often (down to `idle_poll_max`): an idle process costs
        # next to no CPU, and new work wakes its loop anyway.
        poll = self.settings.poll_interval
        shortest = (
            self.settings.flow_pass_spacing if name == "flows" else self.settings.pass_spacing
        )
        longest = self.settings.pass_spacing_max if name in _SPACED_BY_RATE else shortest
        spacing = shortest
        clock = asyncio.get_running_loop().time
        idle_wait = poll
        last_began: float | None = None
        while not self._stopping.is_set():
            # Cleared before the pass, not after: work queued while the pass runs may come too
            # late for its claim, and its wake-up then brings the next pass.
            wake.clear()
            began = clock()
            try:
                done = await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine_loop_error", loop=name)
                done = 0
                await asyncio.sleep(1.0)
            if last_began is not None:
                spacing = next_spacing(done, began - last_began, shortest=shortest, longest=longest)
            last_began = began
            if done and name in _MOVES_MESSAGES:
                # A message's status moved: its DR is queued, and a flow run may be waiting
                # for it.
                self._woken(self._after_moves(("notify",)))
            if done:
                idle_wait = poll
                if full is None or done >= full:
                    continue
            if self._stopping.is_set():
                break
            if not wake.is_set():
                try:
                    async with asyncio.timeout(idle_wait):
                        await wake.wait()
                except TimeoutError:
                    # A poll: what only time makes due (retries, holds, timeouts).
                    idle_wait = min(idle_wait * 2, max(self.settings.idle_poll_max, poll))
                    continue
                idle_wait = poll
            # Woken: let the wake-ups that follow closely join this pass (a stop cuts it short).
            rest = began + spacing - clock()
            if rest > 0 and not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(rest):
                        await self._stopping.wait()


def _notify_tls(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for notify URLs when the settings ask for more than the default: a
    client certificate for mutual TLS (WANODE_NOTIFY_CLIENT_CERT, _KEY) and an extra CA bundle
    (WANODE_NOTIFY_CA_FILE). A file that cannot be loaded stops the start with its setting's
    name (never its content)."""
    cert, key, ca = settings.notify_client_cert, settings.notify_client_key, settings.notify_ca_file
    if cert is None and key is None and ca is None:
        return None
    if key is not None and cert is None:
        raise ValueError("WANODE_NOTIFY_CLIENT_KEY needs WANODE_NOTIFY_CLIENT_CERT")
    context = ssl.create_default_context()
    try:
        if ca is not None:
            context.load_verify_locations(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"WANODE_NOTIFY_CA_FILE cannot be loaded ({type(exc).__name__})") from None
    try:
        if cert is not None:
            context.load_cert_chain(str(cert), None if key is None else str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"WANODE_NOTIFY_CLIENT_CERT/KEY cannot be loaded ({type(exc).__name__})"
        ) from None
    return context
