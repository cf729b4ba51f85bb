"""Request bodies for tests of how the API reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator


class Chunks:
    """A chunked request body (no Content-Length), counting the chunks the server pulled."""

    def __init__(self, data: bytes, size: int = 1000) -> None:
        self.parts = [data[i : i + size] for i in range(0, len(data), size)]
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.pulled += 1
            yield part
