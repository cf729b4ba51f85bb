"""The private-address guard: URLs wanode's users give it must not reach into its own network.

Five kinds of URL come from users and are fetched by wanode: notify URLs, subscriber URLs, media
links (the preflight fetches them), flows' HTTP request nodes, and an app's `graph_base_url`.
Each is refused when its host is, or resolves to, an address that is not globally reachable.

The decision (`refusal`) follows the IANA special-purpose address registries' "Globally
Reachable" column, entry by entry (the most specific entry containing an address decides), plus
multicast and, for IPv6, everything outside 2000::/3 (reserved by the IETF in the IPv6 address
space registry). Addresses that carry an IPv4 address (IPv4-mapped, the NAT64 well-known prefix,
6to4, Teredo) are judged by the IPv4 address they carry.

Resolution is pinned: a client resolves a name once through `Guard.addresses`, which refuses
the name if any of its addresses is refused, and connects to the addresses it returned (with
the name kept for Host and TLS). A name re-pointed between the check and the connection (DNS
rebinding) therefore cannot slip through. Clients keep connections alive, so this costs one
resolution per connection, not per request.

`WANODE_ALLOW_PRIVATE_URLS=true` (and, unset, the in-process sandbox) turns the guard off:
`url_guard` answers None and clients connect wherever a URL points, as a local setup needs.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx

# Resolves a host name and port to IP addresses (text), in the order to try them.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

RESOLVE_TIMEOUT = 5.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class PrivateAddress(httpx.ConnectError):
    """A URL's host is, or resolves to, an address that is not allowed.

    A `ConnectError`: nothing was sent, which is what callers that retry need to know; callers
    that report it catch it first, by name.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Entry:
    """A registry entry: a block, its name there, and whether it is globally reachable
    (None: judged by the IPv4 address the IPv6 address carries)."""

    network: IPNetwork
    name: str
    reachable: bool | None


def _entries(rows: Iterable[tuple[str, str, bool | None]]) -> tuple[Entry, ...]:
    entries = [Entry(ipaddress.ip_network(net), name, reachable) for net, name, reachable in rows]
    # The most specific entry decides: 192.0.0.9/32 (reachable) inside 192.0.0.0/24 (not).
    return tuple(sorted(entries, key=lambda entry: -entry.network.prefixlen))


# IANA IPv4 Special-Purpose Address Registry (iana-ipv4-special-registry), with its "Globally
# Reachable" column; then the IPv4 multicast address space registry's block.
IPV4_ENTRIES = _entries(
    [
        ("0.0.0.0/8", '"This network"', False),
        ("0.0.0.0/32", '"This host on this network"', False),
        ("10.0.0.0/8", "Private-Use", False),
        ("100.64.0.0/10", "Shared Address Space", False),
        ("127.0.0.0/8", "Loopback", False),
        ("169.254.0.0/16", "Link Local", False),
        ("172.16.0.0/12", "Private-Use", False),
        ("192.0.0.0/24", "IETF Protocol Assignments", False),
        ("192.0.0.0/29", "IPv4 Service Continuity Prefix", False),
        ("192.0.0.8/32", "IPv4 dummy address", False),
        ("192.0.0.9/32", "Port Control Protocol Anycast", True),
        ("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", True),
        ("192.0.0.170/32", "NAT64/DNS64 Discovery", False),
        ("192.0.0.171/32", "NAT64/DNS64 Discovery", False),
        ("192.0.2.0/24", "Documentation (TEST-NET-1)", False),
        ("192.31.196.0/24", "AS112-v4", True),
        ("192.52.193.0/24", "AMT", True),
        # Registry: N/A (deprecated by RFC 7526); nothing of a user's is served there.
        ("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", False),
        ("192.168.0.0/16", "Private-Use", False),
        ("192.175.48.0/24", "Direct Delegation AS112 Service", True),
        ("198.18.0.0/15", "Benchmarking", False),
        ("198.51.100.0/24", "Documentation (TEST-NET-2)", False),
        ("203.0.113.0/24", "Documentation (TEST-NET-3)", False),
        ("240.0.0.0/4", "Reserved", False),
        ("255.255.255.255/32", "Limited Broadcast", False),
        # IPv4 Multicast Address Space Registry.
        ("224.0.0.0/4", "Multicast", False),
    ]
)

# IANA IPv6 Special-Purpose Address Registry (iana-ipv6-special-registry), with its "Globally
# Reachable" column; then the IPv6 multicast block. Outside these, only 2000::/3 (Global
# Unicast in the IPv6 address space registry) is reachable: the rest is reserved by the IETF
# (IPv4-compatible ::/96, the SIIT IPv4-translated ::ffff:0:0:0/96, site-local fec0::/10, ...).
IPV6_ENTRIES = _entries(
    [
        ("::1/128", "Loopback Address", False),
        ("::/128", "Unspecified Address", False),
        ("::ffff:0:0/96", "IPv4-mapped Address", None),
        ("64:ff9b::/96", "IPv4-IPv6 Translat.", None),
        # Local-use: the operator chooses where the IPv4 address sits, so it is not read out.
        ("64:ff9b:1::/48", "IPv4-IPv6 Translat. (local-use)", False),
        ("100::/64", "Discard-Only Address Block", False),
        ("100:0:0:1::/64", "Dummy IPv6 Prefix", False),
        ("2001::/23", "IETF Protocol Assignments", False),
        ("2001::/32", "TEREDO", None),
        ("2001:1::1/128", "Port Control Protocol Anycast", True),
        ("2001:1::2/128", "Traversal Using Relays around NAT Anycast", True),
        ("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", True),
        ("2001:2::/48", "Benchmarking", False),
        ("2001:3::/32", "AMT", True),
        ("2001:4:112::/48", "AS112-v6", True),
        # Registry: N/A (deprecated ORCHID).
        ("2001:10::/28", "Deprecated (previously ORCHID)", False),
        ("2001:20::/28", "ORCHIDv2", True),
        ("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", True),
        ("2001:db8::/32", "Documentation", False),
        ("2002::/16", "6to4", None),
        ("2620:4f:8000::/48", "Direct Delegation AS112 Service", True),
        ("3fff::/20", "Documentation", False),
        ("5f00::/16", "Segment Routing (SRv6) SIDs", False),
        ("fc00::/7", "Unique-Local", False),
        ("fe80::/10", "Link-Local Unicast", False),
        # IPv6 Multicast Address Space Registry.
        ("ff00::/8", "Multicast", False),
    ]
)

_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def _entry(ip: IPAddress) -> Entry | None:
    for entry in IPV4_ENTRIES if ip.version == 4 else IPV6_ENTRIES:
        if ip in entry.network:
            return entry
    return None


def _carried(ip: ipaddress.IPv6Address, entry: Entry) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv4-mapped, NAT64, 6to4 or Teredo address carries."""
    if entry.name == "TEREDO":
        assert ip.teredo is not None
        return ip.teredo  # the Teredo server and the client's (outside) address
    if entry.name == "6to4":
        assert ip.sixtofour is not None
        return (ip.sixtofour,)
    return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)


@functools.lru_cache(maxsize=4096)
def refusal(address: str) -> str | None:
    """Why `address` (an IP address, text) is not globally reachable; None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    entry = _entry(ip)
    if entry is None:
        if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST:
            return "reserved by the IETF"
        return None
    if entry.reachable is None:
        assert isinstance(ip, ipaddress.IPv6Address)
        for carried in _carried(ip, entry):
            why = refusal(str(carried))
            if why is not None:
                return f"{entry.name}, carrying {carried} ({why})"
        return None
    return None if entry.reachable else entry.name


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _is_localhost(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The operating system's resolver (getaddrinfo), bounded by `RESOLVE_TIMEOUT`."""
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
            RESOLVE_TIMEOUT,
        )
    except TimeoutError as exc:
        raise OSError(f"{host} did not resolve in time") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Guard:
    """Decides which addresses a client may reach, and resolves names for it.

    `allow`: networks allowed although the registries say they are not globally reachable
    (tests allow 127.0.0.1 this way). `resolver`: where names are resolved; by default the
    system's (`system_resolver`, looked up at each call).
    """

    def __init__(self, *, allow: Iterable[str] = (), resolver: Resolver | None = None) -> None:
        self._allow = tuple(ipaddress.ip_network(net) for net in allow)
        self._resolver = resolver

    def why_refused(self, address: str) -> str | None:
        """Why `address` may not be reached; None when it may."""
        why = refusal(address)
        if why is None:
            return None
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip.version == net.version and ip in net for net in self._allow):
            return None
        return why

    def check_literal(self, host: str) -> None:
        """Raise `PrivateAddress` when `host` is an IP address that may not be reached (names
        pass: they are checked when resolved)."""
        ip = _literal(host)
        if ip is not None:
            why = self.why_refused(str(ip))
            if why is not None:
                raise PrivateAddress(f"the host is the non-public address {ip} ({why})")

    async def addresses(self, host: str, port: int) -> list[str]:
        """Resolve `host` once and answer its addresses, every one of them allowed.

        Raises `PrivateAddress` when `host` is a refused address, is localhost, or resolves to
        any refused address; OSError when it does not resolve.
        """
        ip = _literal(host)
        if ip is not None:
            self.check_literal(host)
            return [str(ip)]
        if _is_localhost(host):
            raise PrivateAddress(f"{host} is this machine")
        resolver = self._resolver or system_resolver
        found = list(await resolver(host, port))
        if not found:
            raise OSError(f"{host} has no address")
        for address in found:
            why = self.why_refused(address)
            if why is not None:
                raise PrivateAddress(f"{host} resolves to the non-public address {address} ({why})")
        return found

    async def check(self, url: str) -> None:
        """Raise `PrivateAddress` when `url`'s host is or resolves to a refused address.

        For URLs taken from users (a clear error at once): a name that does not resolve passes,
        since delivery will fail and retry, which says more than a refusal would. Connections
        are guarded again, pinned, when they are made.
        """
        parsed = httpx.URL(url)
        host = parsed.host
        if not host:
            return
        try:
            await self.addresses(host, parsed.port or (443 if parsed.scheme == "https" else 80))
        except OSError:
            return


_DEFAULT = Guard()


def url_guard(allow_private: bool) -> Guard | None:
    """The guard for URLs from users; None when private addresses are allowed
    (`Settings.private_urls_allowed`, WANODE_ALLOW_PRIVATE_URLS)."""
    return None if allow_private else _DEFAULT


async def refuse_private(url: str, *, allow_private: bool) -> None:
    """The check where wanode takes a URL from its users: a send's notify URL (Messaging API,
    native API, a flow's WhatsApp node), an app's notify URL and `graph_base_url`, a subscriber
    URL. Raises `PrivateAddress`, which each caller reports in its own terms."""
    guard = url_guard(allow_private)
    if guard is not None:
        await guard.check(url)
