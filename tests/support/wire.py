"""HTTP/1.1 on a raw stream, for tests that play one side of a connection themselves."""

from __future__ import annotations

import asyncio


async def read_message(reader: asyncio.StreamReader) -> bytes:
    """One HTTP/1.1 request or response with a `content-length` body (none without one): its
    head and body as they came."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return head + await reader.readexactly(length)
