"""The private-address guard's decisions: every IANA special-purpose registry entry, IPv4 and
IPv6, and the IPv6 forms that carry an IPv4 address. No traffic: addresses and stub resolvers."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from wanode.guard import (
    IPV4_ENTRIES,
    IPV6_ENTRIES,
    Guard,
    PrivateAddress,
    refusal,
    refuse_private,
    url_guard,
)


def teredo(server: str, client: str) -> str:
    """A Teredo address (RFC 4380): 2001::/32, the server, flags and port, the client's
    address inverted."""
    value = (
        (0x20010000 << 96)
        | (int(ipaddress.IPv4Address(server)) << 64)
        | (0x8000 << 48)
        | (0x1234 << 32)
        | (~int(ipaddress.IPv4Address(client)) & 0xFFFFFFFF)
    )
    return str(ipaddress.IPv6Address(value))


PUBLIC_V4 = [
    "8.8.8.8",
    "1.1.1.1",
    "100.63.255.255",  # just below Shared Address Space
    "100.128.0.0",  # just above it
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.1",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
]

# (address, the registry entry expected to refuse it)
REFUSED_V4 = [
    ("0.0.0.0", '"This host on this network"'),
    ("0.1.2.3", '"This network"'),
    ("10.0.0.1", "Private-Use"),
    ("10.255.255.255", "Private-Use"),
    ("100.64.0.1", "Shared Address Space"),
    ("100.100.100.200", "Shared Address Space"),  # a cloud metadata address
    ("100.127.255.254", "Shared Address Space"),
    ("127.0.0.1", "Loopback"),
    ("127.255.255.254", "Loopback"),
    ("169.254.169.254", "Link Local"),  # the usual cloud metadata address
    ("172.16.0.1", "Private-Use"),
    ("172.31.255.255", "Private-Use"),
    ("192.0.0.1", "IPv4 Service Continuity Prefix"),
    ("192.0.0.8", "IPv4 dummy address"),
    ("192.0.0.100", "IETF Protocol Assignments"),
    ("192.0.0.170", "NAT64/DNS64 Discovery"),
    ("192.0.0.171", "NAT64/DNS64 Discovery"),
    ("192.0.2.10", "Documentation (TEST-NET-1)"),
    ("192.88.99.1", "Deprecated (6to4 Relay Anycast)"),
    ("192.168.1.1", "Private-Use"),
    ("198.18.0.1", "Benchmarking"),
    ("198.19.255.255", "Benchmarking"),
    ("198.51.100.7", "Documentation (TEST-NET-2)"),
    ("203.0.113.9", "Documentation (TEST-NET-3)"),
    ("224.0.0.1", "Multicast"),
    ("239.255.255.250", "Multicast"),
    ("240.0.0.1", "Reserved"),
    ("255.255.255.254", "Reserved"),
    ("255.255.255.255", "Limited Broadcast"),
]

# Globally reachable per the registry, though inside or beside refused blocks.
REACHABLE_SPECIAL_V4 = [
    "192.0.0.9",  # Port Control Protocol Anycast
    "192.0.0.10",  # TURN Anycast
    "192.31.196.1",  # AS112-v4
    "192.52.193.1",  # AMT
    "192.175.48.1",  # Direct Delegation AS112 Service
]

PUBLIC_V6 = [
    "2001:4860:4860::8888",
    "2a00:1450:4001:80b::200e",
    "2001:1::1",  # Port Control Protocol Anycast
    "2001:1::2",  # TURN Anycast
    "2001:1::3",  # DNS-SD SRP Anycast
    "2001:3::1",  # AMT
    "2001:4:112::1",  # AS112-v6
    "2001:20::1",  # ORCHIDv2
    "2001:30::1",  # DETs
    "2620:4f:8000::1",  # Direct Delegation AS112 Service
    "2001:200::1",  # just past IETF Protocol Assignments (2001::/23)
    # Addresses carrying a public IPv4 address.
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",  # 6to4 of 8.8.8.8
    teredo("65.54.227.120", "8.8.4.4"),
]

REFUSED_V6 = [
    ("::1", "Loopback Address"),
    ("::", "Unspecified Address"),
    ("100::1", "Discard-Only Address Block"),
    ("100:0:0:1::1", "Dummy IPv6 Prefix"),
    ("2001:0:1::", "TEREDO"),  # carries the server 0.1.0.0 ("This network")
    ("2001:4::1", "IETF Protocol Assignments"),
    ("2001:1ff::1", "IETF Protocol Assignments"),
    ("2001:2::1", "Benchmarking"),
    ("2001:10::1", "Deprecated (previously ORCHID)"),
    ("2001:db8::1", "Documentation"),
    ("3fff::1", "Documentation"),
    ("5f00::1", "Segment Routing (SRv6) SIDs"),
    ("64:ff9b:1::a00:1", "IPv4-IPv6 Translat. (local-use)"),
    ("64:ff9b:1::808:808", "IPv4-IPv6 Translat. (local-use)"),
    ("fc00::1", "Unique-Local"),
    ("fd12:3456::1", "Unique-Local"),
    ("fe80::1", "Link-Local Unicast"),
    ("fe80::1%eth0", "Link-Local Unicast"),
    ("ff02::1", "Multicast"),
    ("ff0e::1", "Multicast"),
    # Outside 2000::/3 and every registry entry: reserved by the IETF.
    ("::127.0.0.1", "reserved by the IETF"),  # IPv4-compatible (deprecated)
    ("::ffff:0:8.8.8.8", "reserved by the IETF"),  # SIIT IPv4-translated
    ("fec0::1", "reserved by the IETF"),  # site-local (deprecated)
    ("4000::1", "reserved by the IETF"),
]

# IPv6 addresses judged by the IPv4 address they carry: (address, carried, its entry).
CARRYING_PRIVATE = [
    ("::ffff:127.0.0.1", "IPv4-mapped Address", "Loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped Address", "Private-Use"),
    ("::ffff:100.100.100.200", "IPv4-mapped Address", "Shared Address Space"),
    ("::ffff:169.254.169.254", "IPv4-mapped Address", "Link Local"),
    ("64:ff9b::127.0.0.1", "IPv4-IPv6 Translat.", "Loopback"),
    ("64:ff9b::192.168.0.1", "IPv4-IPv6 Translat.", "Private-Use"),
    ("64:ff9b::198.18.0.1", "IPv4-IPv6 Translat.", "Benchmarking"),
    ("2002:7f00:1::1", "6to4", "Loopback"),
    ("2002:a9fe:a9fe::1", "6to4", "Link Local"),
    ("2002:6440:1::1", "6to4", "Shared Address Space"),
    (teredo("65.54.227.120", "192.168.1.1"), "TEREDO", "Private-Use"),
    (teredo("65.54.227.120", "127.0.0.1"), "TEREDO", "Loopback"),
    (teredo("10.0.0.1", "8.8.8.8"), "TEREDO", "Private-Use"),  # the server's address
]


@pytest.mark.parametrize("address", PUBLIC_V4 + REACHABLE_SPECIAL_V4 + PUBLIC_V6)
def test_globally_reachable_addresses_pass(address: str) -> None:
    assert refusal(address) is None
    assert Guard().why_refused(address) is None


@pytest.mark.parametrize(("address", "entry"), REFUSED_V4 + REFUSED_V6)
def test_special_purpose_addresses_are_refused_by_their_entry(address: str, entry: str) -> None:
    why = refusal(address)
    assert why is not None and why.startswith(entry)


@pytest.mark.parametrize(("address", "form", "entry"), CARRYING_PRIVATE)
def test_ipv6_carrying_a_refused_ipv4_address_is_refused(
    address: str, form: str, entry: str
) -> None:
    why = refusal(address)
    assert why is not None
    assert why.startswith(form) and f"({entry})" in why


def test_every_registry_entry_is_covered_by_the_table() -> None:
    """Each entry of both registries decides at least one address above, so a typo in a block
    or a flag would fail a test."""
    tested = [
        ipaddress.ip_address(a.split("%")[0])
        for a in PUBLIC_V4
        + REACHABLE_SPECIAL_V4
        + PUBLIC_V6
        + [a for a, _ in REFUSED_V4 + REFUSED_V6]
        + [a for a, _, _ in CARRYING_PRIVATE]
    ]
    for entry in (*IPV4_ENTRIES, *IPV6_ENTRIES):
        decided = [
            ip
            for ip in tested
            if ip.version == entry.network.version
            and ip in entry.network
            and next(e for e in (*IPV4_ENTRIES, *IPV6_ENTRIES) if ip in e.network) is entry
        ]
        assert decided, f"no test address for {entry.network} ({entry.name})"


def test_allowed_networks_let_chosen_addresses_through() -> None:
    guard = Guard(allow=["127.0.0.1/32", "fd00::/8"])
    assert guard.why_refused("127.0.0.1") is None
    assert guard.why_refused("fd00::5") is None
    assert guard.why_refused("127.0.0.2") == "Loopback"
    assert guard.why_refused("10.0.0.1") == "Private-Use"


def stub(table: dict[str, Sequence[str]]) -> tuple[list[str], Guard]:
    asked: list[str] = []

    async def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        if host not in table:
            raise OSError(f"{host}: no such name")
        return table[host]

    return asked, Guard(resolver=resolve)


async def test_a_name_is_refused_when_any_of_its_addresses_is() -> None:
    asked, guard = stub(
        {
            "public.test": ["93.184.216.34", "2606:2800:220:1::1"],
            "mixed.test": ["93.184.216.34", "10.0.0.7"],
            "cgnat.test": ["100.100.100.200"],
            "mapped.test": ["::ffff:192.168.0.1"],
        }
    )
    assert await guard.addresses("public.test", 443) == ["93.184.216.34", "2606:2800:220:1::1"]
    for name in ("mixed.test", "cgnat.test", "mapped.test"):
        with pytest.raises(PrivateAddress, match="non-public address"):
            await guard.addresses(name, 443)
    with pytest.raises(OSError):
        await guard.addresses("nowhere.test", 443)
    assert asked == ["public.test", "mixed.test", "cgnat.test", "mapped.test", "nowhere.test"]


async def test_literals_and_localhost_are_decided_without_resolving() -> None:
    asked, guard = stub({})
    assert await guard.addresses("8.8.8.8", 80) == ["8.8.8.8"]
    assert await guard.addresses("[2001:4860:4860::8888]", 80) == ["2001:4860:4860::8888"]
    for host in ("127.0.0.1", "[::1]", "::ffff:169.254.169.254", "localhost", "api.localhost."):
        with pytest.raises(PrivateAddress):
            await guard.addresses(host, 80)
    with pytest.raises(PrivateAddress):
        guard.check_literal("100.64.0.1")
    guard.check_literal("hooks.example.test")  # names are checked when resolved
    assert asked == []


async def test_check_refuses_urls_and_lets_unresolvable_names_pass() -> None:
    _, guard = stub({"internal.test": ["172.20.0.5"], "public.test": ["8.8.8.8"]})
    with pytest.raises(PrivateAddress, match=r"172\.20\.0\.5"):
        await guard.check("https://internal.test/dr")
    with pytest.raises(PrivateAddress, match=r"169\.254\.169\.254"):
        await guard.check("http://169.254.169.254/latest/meta-data")
    await guard.check("https://public.test/dr")
    # Delivery will fail and retry, which says more than a refusal would.
    await guard.check("https://nowhere.test/dr")


async def test_refuse_private_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolve(host: str, port: int) -> Sequence[str]:
        return {"internal.test": ["10.1.2.3"]}[host]

    monkeypatch.setattr("wanode.guard.system_resolver", resolve)
    assert url_guard(True) is None and url_guard(False) is not None
    with pytest.raises(PrivateAddress, match=r"10\.1\.2\.3"):
        await refuse_private("http://internal.test/dr", allow_private=False)
    with pytest.raises(PrivateAddress):
        await refuse_private("http://127.0.0.1:9000/dr", allow_private=False)
    await refuse_private("https://8.8.8.8/dr", allow_private=False)
    await refuse_private("http://internal.test/dr", allow_private=True)
    await refuse_private("http://localhost/dr", allow_private=True)
