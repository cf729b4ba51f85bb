"""The SSRF guard: notify and subscriber URLs must not reach into the service's own network.

A URL whose host is, or resolves to, a loopback, private, link-local, multicast, reserved or
unspecified address is refused unless private addresses are allowed. The check runs when a URL
is accepted (a clear 7004) and again before each delivery, because a name can be re-pointed at
an internal address after it was accepted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

_RESOLVE_TIMEOUT = 2.0


class PrivateAddress(ValueError):
    pass


def is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def check_public(url: str) -> None:
    """Raise `PrivateAddress` when `url`'s host is or resolves to a non-public address.

    A name that does not resolve passes: delivery will fail and retry, which says more than a
    refusal would.
    """
    host = httpx.URL(url).host
    if not host:
        return
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost"):
            raise PrivateAddress(f"{host} is this machine") from None
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM),
                _RESOLVE_TIMEOUT,
            )
        except (OSError, TimeoutError):
            return
        addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if is_private(address):
            raise PrivateAddress(f"{host} resolves to the non-public address {address}")


async def refuse_private(url: str, *, allow_private: bool) -> None:
    """The guard where wanode takes a URL from its users: a send's notify URL (Messaging API,
    native API, a flow's WhatsApp node), an app's notify URL, a subscriber URL, and a flow's
    HTTP request just before it is made.

    `check_public`, unless private addresses are allowed (`Settings.private_urls_allowed`,
    WANODE_ALLOW_PRIVATE_URLS). Raises `PrivateAddress`, which each caller reports in its own
    terms; `url` has passed the caller's URL check (`validate_notify_url` for notify URLs).
    """
    if allow_private:
        return
    await check_public(url)
