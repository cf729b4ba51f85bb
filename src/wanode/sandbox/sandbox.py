"""`Sandbox`: the platform (`wanode.sandbox.platform`) with its HTTP face (`wanode.sandbox.app`)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from starlette.types import ASGIApp

from wanode.sandbox.app import build_app
from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.platform import Platform


class Sandbox(Platform):
    """A WhatsApp Business Platform in memory (`Core` says what `clock` is), and `app`, its
    ASGI app (`wanode.sandbox.app`)."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(config, webhook_transport, clock=clock)
        self.app: ASGIApp = build_app(self)
