"""Sandbox fixtures: a sandbox spoken to over in-process HTTP, with a signature-checking
webhook receiver behind it; every webhook body it received must match Meta's OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.sandbox.bench import NUMBER, Bench, Receiver, open_bench


@pytest.fixture
def receiver() -> Receiver:
    return Receiver(NUMBER.app_secret)


@pytest.fixture
async def bench(receiver: Receiver) -> AsyncIterator[Bench]:
    """The 24-hour window is off here: see `open_bench`."""
    async with open_bench(receiver) as bench:
        yield bench
