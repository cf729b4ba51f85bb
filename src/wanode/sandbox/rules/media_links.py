"""Media sent by link: the sandbox fetches each one, as Meta does, and fails the message with
131053 (Media upload error, async) when the file cannot be had or is not what the message says
(cloud-api.md §1.2, §7, §8).

A link fails when its server cannot be reached, answers anything but 2xx (404 above all), or
does not send the file in time; when the file is empty, larger than its kind allows (images
5 MB, audio and video 16 MB, documents 100 MB, stickers 100 KB static and 500 KB animated), or
its bytes are not a type its kind takes (a PDF behind an `image` link, a WebP anywhere but in a
sticker); when a voice note is not OGG/OPUS, an OGG file is not mono OPUS, a PNG is not 8-bit
RGB or RGBA, or a video is not H.264 with at most one AAC audio stream.

Decisions (EMULATOR CHOICE):

- Only this machine is reached. A link's host must be a loopback address (127.0.0.0/8, ::1) or
  `localhost`; any other is refused before any lookup or connection, and so is a redirect
  elsewhere (`wanode.guard.Guard`, narrowed to loopback, pins every connection). The sandbox
  never reaches beyond loopback: serve a local copy of the file, or turn the fetch off
  (`SandboxConfig.fetch_media`, WANODE_SANDBOX_FETCH_MEDIA=false).
- A fetch is bounded: it reads no more than the kind's maximum size (plus what says the file is
  larger), and the whole exchange, redirects included, takes at most
  `SandboxConfig.media_fetch_timeout` seconds.
- The file's bytes decide its type (`wanode.preflight.sniff`, the engine's own sniffing), not
  the link's name or the `Content-Type` header, which Meta does not document as trusted.
  Sticker dimensions are not checked (cloud-api.md names none).
- Meta caches a fetched link for 10 minutes, keyed on the exact URL (§1.2): so does the sandbox,
  for a file it fetched (good or bad). A link that could not be fetched is tried again.
- `error_data.details` names the payload path (`image.link`) and the reason, never the URL:
  a signed link carries credentials.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from wanode.guard import Guard, PrivateAddress, system_resolver
from wanode.preflight.cache import VerdictCache
from wanode.preflight.fetch import Fetched, fetch
from wanode.preflight.mp4 import codec_problem
from wanode.preflight.sniff import SAMPLE_BYTES, sniff
from wanode.sandbox.rules.kinds import MediaRef
from wanode.sandbox.rules.media import (
    KIND_OF_TYPE,
    MAX_ANIMATED_STICKER_BYTES,
    MAX_BYTES,
    animated_webp,
    types_for,
)
from wanode.transport import PooledTransport

MEDIA_UPLOAD_ERROR = 131053
CACHE_SECONDS = 10 * 60.0  # Meta's, for a fetched link (cloud-api.md §1.2)
CONNECTIONS = 8
MAX_REDIRECTS = 5

# The file extensions `sniff` answers with, as the MIME types of Meta's table (§7).
TYPE_OF_EXTENSION = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "3gp": "video/3gpp",
    "3gpp": "video/3gpp",
    "aac": "audio/aac",
    "amr": "audio/amr",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "ogg": "audio/ogg",
    "txt": "text/plain",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
# PNG colour types (IHDR); WhatsApp takes RGB and RGBA only.
_PNG_COLOURS = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale with alpha", 6: "RGBA"}
_PNG_RGB_TYPES = (2, 6)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Verdict:
    """What fetching a link found: `problem` is why it fails (None: it may be sent);
    `fetched` whether the file came down (only such verdicts are cached)."""

    problem: str | None
    fetched: bool


def fetch_limit(kind: str) -> int:
    """The most bytes a file of `kind` may have."""
    return MAX_ANIMATED_STICKER_BYTES if kind == "sticker" else MAX_BYTES[kind]


def judge(kind: str, sample: bytes, size: int, *, voice: bool = False) -> str | None:
    """Why a file of `size` bytes, starting with `sample` (the whole file for videos and
    stickers), cannot go out as a `kind` message; None when it can. Pure."""
    if size == 0:
        return "the file is empty"
    limit = fetch_limit(kind)
    if size > limit:
        return f"{kind} files may have at most {limit} bytes; this one is larger"
    sniffed = sniff(sample, complete=len(sample) >= size)
    types = {TYPE_OF_EXTENSION[ext] for ext in sniffed.extensions if ext in TYPE_OF_EXTENSION}
    if kind not in {KIND_OF_TYPE[mime] for mime in types}:
        return (
            f"the file is {sniffed.describe()}; {kind} messages take {', '.join(types_for(kind))}"
        )
    if voice and "audio/ogg" not in types:
        return f"a voice note must be OGG/OPUS; the file is {sniffed.describe()}"
    if kind == "audio" and types == {"audio/ogg"} and _opus_channels(sample) not in (None, 1):
        return "OGG/OPUS audio must be mono; the file has more than one channel"
    if kind == "image" and "image/png" in types:
        return _png_problem(sample)
    if kind == "video":
        return codec_problem(sample)
    if kind == "sticker" and not animated_webp(sample) and size > MAX_BYTES["sticker"]:
        return (
            f"static stickers may have at most {MAX_BYTES['sticker']} bytes (animated ones "
            f"{MAX_ANIMATED_STICKER_BYTES}); this one has {size}"
        )
    return None


class LoopbackOnly(Guard):
    """A guard that lets a client reach this machine only: loopback addresses, and `localhost`
    (resolved, and kept to its loopback addresses). Other names are refused unresolved."""

    def why_refused(self, address: str) -> str | None:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return None if ip.is_loopback else "not a loopback address"

    async def addresses(self, host: str, port: int) -> list[str]:
        if _literal(host) is not None:
            self.check_literal(host)
            return [host.strip("[]")]
        if not _is_localhost(host):
            raise PrivateAddress(f"{host} is not this machine")
        found = [a for a in await system_resolver(host, port) if self.why_refused(a) is None]
        if not found:
            raise PrivateAddress(f"{host} does not resolve to a loopback address")
        return found


class MediaLinks:
    """Fetches the links of accepted messages and judges their files (see the module's doc).

    `clock` (seconds) ages the cache; `transport` replaces the loopback-only HTTP client's.
    """

    def __init__(
        self,
        *,
        timeout: float,
        clock: Callable[[], float],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._cache: VerdictCache[tuple[str, bool, str], Verdict] = VerdictCache(
            CACHE_SECONDS, clock, short_ttl=0.0, is_short=lambda verdict: not verdict.fetched
        )

    async def failure(self, refs: Sequence[MediaRef]) -> tuple[int, str] | None:
        """The 131053 failure of the first link (of `refs`) that cannot be sent, if one
        cannot; references by media id are not this class's to judge."""
        for ref in refs:
            if ref.link is None:
                continue
            key = (ref.kind, ref.voice, ref.link)
            verdict = await self._cache.get(key, functools.partial(self._inspect, *key))
            if verdict.problem is not None:
                return MEDIA_UPLOAD_ERROR, f"{ref.path}: {verdict.problem}"
        return None

    async def aclose(self) -> None:
        await self._cache.aclose()
        if self._client is not None:
            await self._client.aclose()

    async def _inspect(self, kind: str, voice: bool, link: str) -> Verdict:
        host = urlsplit(link).hostname or ""
        if not _on_loopback(host):
            return Verdict(
                f"the sandbox fetches media from this machine only (a loopback address or "
                f"localhost), not from {host}; serve the file locally",
                fetched=False,
            )
        limit = fetch_limit(kind)
        keep = limit if kind in ("video", "sticker") else SAMPLE_BYTES
        try:
            async with asyncio.timeout(self._timeout):
                got = await fetch(self._http(), link, limit=limit, keep=keep, field="")
        except (TimeoutError, httpx.TimeoutException):
            return Verdict(f"the server did not send the file within {self._timeout:g} s", False)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            # What `fetch` does not name itself; the text may quote the URL, the type will do.
            return Verdict(f"the download failed ({type(exc).__name__})", fetched=False)
        if not isinstance(got, Fetched):
            return Verdict(got.reason, fetched=False)
        return Verdict(judge(kind, got.sample, got.size, voice=voice), fetched=True)

    def _http(self) -> httpx.AsyncClient:
        # Made on first use: most sandboxes never see a link.
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport or PooledTransport(CONNECTIONS, guard=LoopbackOnly()),
                timeout=self._timeout,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"accept-encoding": "identity", "user-agent": "wanode-sandbox"},
            )
        return self._client


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _is_localhost(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _on_loopback(host: str) -> bool:
    ip = _literal(host)
    return ip.is_loopback if ip is not None else _is_localhost(host)


def _opus_channels(sample: bytes) -> int | None:
    # The first Ogg page: a 27-byte header whose last byte counts the segment-table entries,
    # the table, then the OpusHead packet, whose ninth byte is the channel count.
    if len(sample) < 27:
        return None
    head = sample[27 + sample[26] :]
    return head[9] if head.startswith(b"OpusHead") and len(head) > 9 else None


def _png_problem(sample: bytes) -> str | None:
    # The IHDR chunk comes first: width and height (4 bytes each), bit depth, colour type.
    if not sample.startswith(_PNG_SIGNATURE) or len(sample) < 26:
        return None
    depth, colour = sample[24], sample[25]
    if depth != 8 or colour not in _PNG_RGB_TYPES:
        shown = _PNG_COLOURS.get(colour, f"of colour type {colour}")
        return f"PNG images must be 8-bit RGB or RGBA; this one is {depth}-bit {shown}"
    return None
