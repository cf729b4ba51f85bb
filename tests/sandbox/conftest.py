"""Sandbox fixtures: a sandbox spoken to over in-process HTTP, with a signature-checking
webhook receiver behind it; every webhook body it received must match Meta's OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.sandbox.bench import FAST, NUMBER, Bench, Receiver

from wanode.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def receiver() -> Receiver:
    return Receiver(NUMBER.app_secret)


@pytest.fixture
async def bench(receiver: Receiver) -> AsyncIterator[Bench]:
    config = SandboxConfig(
        default_handset=FAST,
        webhook_retries=3,
        webhook_retry_base=0.01,
        template_review_delay=0.0,
    )
    sandbox = Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app))
    sandbox.provision(NUMBER)
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield Bench(sandbox, client, receiver)
    await sandbox.aclose()
    assert receiver.bad_signatures == 0
    assert receiver.openapi_errors() == []
