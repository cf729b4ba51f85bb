"""A sandbox served over real loopback HTTP (uvicorn on a free 127.0.0.1 port, on a thread of
its own), for client libraries that speak HTTP themselves (pywa, heyoo). Its webhooks go, over
the same loopback HTTP, to an ASGI app the test supplies (mounted under `/hooks`), through a tap
that keeps each body's raw bytes, its signature and the status the app answered."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.sandbox.bench import FAST

from wanode.bench.stack import free_port
from wanode.sandbox import BusinessNumber, Sandbox, SandboxConfig

HOOKS = "/hooks"


@dataclass
class Delivery:
    body: bytes
    signature: str
    status: int = 0


@dataclass
class Tap:
    """ASGI middleware recording every request body posted to `app`, and the answer's status."""

    app: ASGIApp
    deliveries: list[Delivery] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        delivery = Delivery(b"", headers.get(b"x-hub-signature-256", b"").decode())
        chunks: list[bytes] = []

        async def tapped() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    delivery.body = b"".join(chunks)
            return message

        async def answered(message: Any) -> None:
            if message["type"] == "http.response.start":
                delivery.status = message["status"]
            await send(message)

        await self.app(scope, tapped, answered)
        if scope["method"] == "POST":
            self.deliveries.append(delivery)


def live_config() -> SandboxConfig:
    """Fast handsets, one webhook attempt, an instant template review, no 24-hour window, and
    Meta's rate and marketing limits lifted: these tests send fast, to one handset."""
    return SandboxConfig(
        default_handset=FAST,
        webhook_retries=1,
        webhook_retry_base=0.01,
        template_review_delay=0.0,
        enforce_window=False,
        throughput_mps=None,
        pair_limit=False,
        marketing_limit=None,
    )


class LiveSandbox:
    """`Sandbox(config)` with `number` provisioned, its Graph API and control panel at `url`,
    its webhooks posted to `hooks` (mounted at `{url}/hooks`, the number's webhook URL)."""

    def __init__(self, config: SandboxConfig, number: BusinessNumber, hooks: ASGIApp) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.number = dataclasses.replace(number, webhook_url=f"{self.url}{HOOKS}/webhook")
        self.config = config
        self.tap = Tap(hooks)
        self.sandbox: Sandbox | None = None
        self.failed: BaseException | None = None
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self._run, name="live-sandbox", daemon=True)

    def __enter__(self) -> LiveSandbox:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not (self._server is not None and self._server.started):
            if self.failed is not None or not self._thread.is_alive():
                raise RuntimeError("the live sandbox did not start") from self.failed
            if time.monotonic() > deadline:
                raise RuntimeError("the live sandbox did not start within 15 s")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by __enter__ or the test
            self.failed = exc

    async def _main(self) -> None:
        sandbox = Sandbox(self.config)
        sandbox.provision(self.number)
        self.sandbox = sandbox
        graph = sandbox.app
        tap = self.tap

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] == "http" and path.startswith(HOOKS + "/"):
                scope = {**scope, "path": path[len(HOOKS) :], "root_path": HOOKS}
                await tap(scope, receive, send)
            else:
                await graph(scope, receive, send)

        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        try:
            await self._server.serve()
        finally:
            await sandbox.aclose()

    def wait_for(self, condition: Any, timeout: float = 5.0, what: str = "") -> None:
        """Poll `condition()` until true (the sandbox's timers run on its own thread)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or condition}")
            time.sleep(0.01)
