"""Reading a media file from its link: as little of it as the check needs, within a deadline."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from wanode.guard import PrivateAddress
from wanode.preflight.refusal import Refusal, download_error

_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Fetched:
    sample: bytes  # the file's first bytes
    size: int  # its size; above the fetch's limit, where reading stopped


async def fetch(
    client: httpx.AsyncClient, url: str, *, limit: int, keep: int, field: str
) -> Fetched | Refusal:
    """GET `url`, keeping its first `keep` bytes; stop once more than `limit` have come.

    Timeouts (httpx's) propagate: the caller owns the deadline for the whole exchange.
    """
    if urlsplit(url).scheme.lower() not in _SCHEMES:
        return download_error("only http and https links can be fetched", field=field)
    try:
        return await _get(client, url, limit=limit, keep=keep, field=field)
    except httpx.TimeoutException:
        raise
    except PrivateAddress:
        # Nothing more: what the address is, or holds, is none of the sender's business.
        return download_error("the link's address is not allowed", field=field)
    except httpx.TooManyRedirects:
        return download_error("the link redirects too many times", field=field)
    except httpx.UnsupportedProtocol:
        return download_error("the link redirects to one that is not http or https", field=field)
    except httpx.ConnectError:
        return download_error("the server could not be reached", field=field)
    except httpx.InvalidURL:
        return download_error("the link is not a valid URL", field=field)
    except httpx.HTTPError as exc:
        # The exception's text may quote the URL; its type says enough.
        return download_error(f"the download failed ({type(exc).__name__})", field=field)


async def _get(
    client: httpx.AsyncClient, url: str, *, limit: int, keep: int, field: str
) -> Fetched | Refusal:
    async with client.stream("GET", url) as response:
        if not response.is_success:
            return download_error(f"the server answered HTTP {response.status_code}", field=field)
        declared = _content_length(response)
        if declared is not None and declared > limit:
            return Fetched(b"", declared)
        sample = bytearray()
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if len(sample) < keep:
                sample += chunk[: keep - len(sample)]
            if received > limit:
                break
            if declared is not None and len(sample) >= keep:
                # The header gave the size and the check has what it needs: the rest need not
                # come down (closing the stream drops the connection).
                return Fetched(bytes(sample), declared)
        return Fetched(bytes(sample), received)


def _content_length(response: httpx.Response) -> int | None:
    # A compressed body's length is not the file's (we ask for identity, but servers may not
    # listen).
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        return None
    try:
        length = int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None
    return length if length >= 0 else None
