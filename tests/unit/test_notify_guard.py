"""The SSRF guard on notify and subscriber URLs."""

from __future__ import annotations

import pytest
from tests.support.receiver import receiver

from wanode.notify.client import NotifyClient, Outcome
from wanode.notify.guard import PrivateAddress, check_public, is_private, refuse_private


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),  # cloud metadata service
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:127.0.0.1", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
    ],
)
def test_is_private(address: str, private: bool) -> None:
    assert is_private(address) is private


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/dr",
        "http://[::1]/dr",
        "https://169.254.169.254/latest/meta-data",
        "http://localhost/dr",
        "http://api.localhost/dr",
        "http://10.0.0.5/dr",
    ],
)
async def test_private_urls_are_refused(url: str) -> None:
    with pytest.raises(PrivateAddress):
        await check_public(url)


async def test_public_and_unresolvable_hosts_pass() -> None:
    await check_public("https://8.8.8.8/dr")
    # Nothing resolves under .invalid (RFC 2606): delivery will fail and retry instead.
    await check_public("https://hooks.example.invalid/dr")


async def test_refuse_private_checks_unless_private_addresses_are_allowed() -> None:
    with pytest.raises(PrivateAddress, match=r"127\.0\.0\.1"):
        await refuse_private("http://127.0.0.1:9000/dr", allow_private=False)
    await refuse_private("https://8.8.8.8/dr", allow_private=False)
    await refuse_private("http://127.0.0.1:9000/dr", allow_private=True)
    await refuse_private("http://localhost/dr", allow_private=True)


async def test_client_refuses_before_connecting() -> None:
    async with receiver() as dr:
        guarded = NotifyClient(timeout=2, allow_private=False)
        open_client = NotifyClient(timeout=2)
        try:
            refused = await guarded.post(f"{dr.url}/dr", b"{}")
            assert refused.outcome is Outcome.GIVE_UP
            assert refused.error is not None and "127.0.0.1" in refused.error
            assert dr.requests == []
            allowed = await open_client.post(f"{dr.url}/dr", b"{}")
            assert allowed.outcome is Outcome.DELIVERED and len(dr.requests) == 1
        finally:
            await guarded.aclose()
            await open_client.aclose()
