"""The private-address guard where wanode connects: notify and subscriber URLs, media
preflight, flows' HTTP request nodes and an app's graph_base_url.

Names are resolved by stub resolvers; the only traffic goes to servers on 127.0.0.1 (allowed,
where a test needs a connection, through the guard's `allow` option). A refused address is
refused before any connection is attempted, so none of them is ever contacted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from tests.integration.test_flow_nodes import deploy, finished, http_flow, path, start
from tests.support.harness import fast_settings, running
from tests.support.receiver import free_port, receiver, serve_app

from wanode.engine.gateways import Gateways
from wanode.gateway import Credentials, GatewayError
from wanode.guard import Guard, PrivateAddress
from wanode.notify.client import NotifyClient, Outcome
from wanode.preflight import MEDIA_DOWNLOAD_ERROR, MediaLink, Preflight
from wanode.store import Database
from wanode.transport import PooledTransport

pytestmark = pytest.mark.asyncio

LOOPBACK_ONLY = ["127.0.0.1/32"]


class Flipping:
    """A resolver answering 127.0.0.1 the first time it is asked about a name and a private
    address after that: a name re-pointed between a check and a connection (DNS rebinding)."""

    def __init__(self, later: str = "10.9.8.7") -> None:
        self.later = later
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append((host, port))
        return ["127.0.0.1"] if len(self.asked) == 1 else [self.later]


async def table_resolver(host: str, port: int) -> Sequence[str]:
    """Stands in for the system's resolver in the service's own guard."""
    names = {
        "hooks.internal.test": ["10.1.2.3"],
        "graph.internal.test": ["100.100.100.200"],
        "api.internal.test": ["192.168.7.7"],
        "media.internal.test": ["fd00::7"],
    }
    if host not in names:
        raise OSError(f"{host}: no such name")
    return names[host]


# Notify and subscriber URLs (one client posts both: `NotifyClient`).


async def test_notify_client_connects_to_the_address_the_guard_approved() -> None:
    resolver = Flipping()
    guard = Guard(allow=LOOPBACK_ONLY, resolver=resolver)
    async with receiver() as dr:
        client = NotifyClient(timeout=5, guard=guard)
        try:
            url = f"http://hooks.example.test:{dr.port}/dr"
            first = await client.post(url, b"{}")
            second = await client.post(url, b"{}")  # the kept-alive connection, no resolution
            assert (first.outcome, second.outcome) == (Outcome.DELIVERED, Outcome.DELIVERED)
            assert resolver.asked == [("hooks.example.test", dr.port)]
            assert [r.headers["host"] for r in dr.requests] == [f"hooks.example.test:{dr.port}"] * 2
        finally:
            await client.aclose()
        # A new connection resolves again: the name now points at a private address.
        fresh = NotifyClient(timeout=5, guard=guard)
        try:
            refused = await fresh.post(f"http://hooks.example.test:{dr.port}/dr", b"{}")
        finally:
            await fresh.aclose()
        assert refused.outcome is Outcome.GIVE_UP
        assert refused.error is not None and "10.9.8.7" in refused.error
        assert len(resolver.asked) == 2 and len(dr.requests) == 2


async def test_notify_client_refuses_private_addresses_before_connecting() -> None:
    async with receiver() as dr:
        guarded = NotifyClient(timeout=2, allow_private=False)
        open_client = NotifyClient(timeout=2)
        try:
            refused = await guarded.post(f"{dr.url}/dr", b"{}")
            assert refused.outcome is Outcome.GIVE_UP
            assert refused.error is not None and "127.0.0.1" in refused.error
            by_name = await guarded.post(f"http://localhost:{dr.port}/dr", b"{}")
            assert by_name.outcome is Outcome.GIVE_UP
            assert dr.requests == []
            allowed = await open_client.post(f"{dr.url}/dr", b"{}")
            assert allowed.outcome is Outcome.DELIVERED and len(dr.requests) == 1
        finally:
            await guarded.aclose()
            await open_client.aclose()


async def test_notify_client_refuses_a_name_resolving_to_a_private_address() -> None:
    guard = Guard(resolver=table_resolver)
    client = NotifyClient(timeout=2, guard=guard)
    try:
        attempt = await client.post("https://hooks.internal.test/dr", b"{}")
    finally:
        await client.aclose()
    assert attempt.outcome is Outcome.GIVE_UP
    assert attempt.error is not None and "10.1.2.3" in attempt.error


# The pooled transport (aiohttp beneath httpx): flows, preflight, the gateway's cold calls.


@asynccontextmanager
async def redirector(target: str) -> AsyncIterator[tuple[str, list[str]]]:
    """A server on loopback: /go redirects to `target`, /here answers 200."""
    seen: list[str] = []

    async def handle(request: Request) -> Response:
        seen.append(f"{request.url.path} {request.headers['host']}")
        if request.url.path == "/go":
            return RedirectResponse(target, status_code=302)
        return Response("here")

    port = free_port()
    async with serve_app(Starlette(routes=[Route("/{p:path}", handle)]), port):
        yield f"http://127.0.0.1:{port}", seen


async def test_pooled_transport_pins_connections_and_guards_each_redirect() -> None:
    resolver = Flipping()
    guard = Guard(allow=LOOPBACK_ONLY, resolver=resolver)
    async with redirector("http://api.internal.test/secret") as (base, seen):
        port = int(base.rsplit(":", 1)[1])
        client = httpx.AsyncClient(
            transport=PooledTransport(4, guard=guard), follow_redirects=True, timeout=5
        )
        try:
            named = f"http://hooks.example.test:{port}/here"
            assert (await client.get(named)).status_code == 200
            assert (await client.get(named)).status_code == 200
            assert resolver.asked == [("hooks.example.test", port)]
            assert seen == [f"/here hooks.example.test:{port}"] * 2
            # A literal: allowed when the guard allows it, refused otherwise (aiohttp would
            # not ask the resolver).
            assert (await client.get(f"{base}/here")).status_code == 200
            with pytest.raises(PrivateAddress, match=r"10\.0\.0\.1"):
                await client.get("http://10.0.0.1/")
            # The redirect's target is resolved (the stub now answers 10.9.8.7) and refused.
            with pytest.raises(PrivateAddress, match=r"10\.9\.8\.7"):
                await client.get(f"{base}/go")
        finally:
            await client.aclose()
    assert seen[-1] == f"/go 127.0.0.1:{port}" and len(seen) == 4


# Media preflight.


SECRET = b"<html>internal admin: root password hunter2</html>"


@asynccontextmanager
async def internal_admin() -> AsyncIterator[tuple[str, list[str]]]:
    seen: list[str] = []

    async def secret(request: Request) -> Response:
        seen.append(request.url.path)
        return Response(SECRET, media_type="text/html")

    port = free_port()
    async with serve_app(Starlette(routes=[Route("/{p:path}", secret)]), port):
        yield f"http://127.0.0.1:{port}/internal-admin/secret.jpg", seen


async def test_preflight_refuses_a_private_link_and_says_nothing_of_it() -> None:
    """The audit's repro: with private URLs refused, the preflight fetched a loopback link and
    its refusal described what it found there."""
    async with internal_admin() as (link, seen):
        media = MediaLink("image", link, "image/jpeg", "image.link")
        guarded = Preflight(timeout=5, guard=Guard())
        unguarded = Preflight(timeout=5)
        try:
            refusal = await guarded.check_link(media)
            assert seen == []
            assert refusal is not None and refusal.meta_code == MEDIA_DOWNLOAD_ERROR
            assert refusal.field == "image.link"
            assert "not allowed" in refusal.reason
            for leak in ("html", "hunter2", "127.0.0.1", "Loopback", "text/"):
                assert leak not in refusal.reason
            # Without the guard the same link is fetched, and the refusal describes the body:
            # what the guard keeps from the sender.
            fetched = await unguarded.check_link(media)
            assert seen == ["/internal-admin/secret.jpg"]
            assert fetched is not None and "text/html" in fetched.reason
        finally:
            await guarded.aclose()
            await unguarded.aclose()


async def test_preflight_refuses_a_name_resolving_to_a_private_address() -> None:
    preflight = Preflight(timeout=5, guard=Guard(resolver=table_resolver))
    try:
        refusal = await preflight.check_link(
            MediaLink("image", "https://media.internal.test/a.jpg", "image/jpeg", "image.link")
        )
    finally:
        await preflight.aclose()
    assert refusal is not None and refusal.meta_code == MEDIA_DOWNLOAD_ERROR
    assert "not allowed" in refusal.reason and "fd00" not in refusal.reason


# An app's graph_base_url, enforced where the gateway connects.


CREDS = Credentials(phone_number_id="1", access_token="t", waba_id="2")


async def test_an_apps_graph_base_url_is_guarded_when_connecting(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wanode.guard.system_resolver", table_resolver)
    async with receiver() as graph:
        app = {"gateway": "cloud", "graph_base_url": graph.url, "api_version": "v23.0"}
        named = {**app, "graph_base_url": "https://graph.internal.test"}
        refusing = Gateways(fast_settings(db, allow_private_urls=False))
        allowing = Gateways(fast_settings(db, allow_private_urls=True))
        try:
            for gateways, target in ((refusing, app), (refusing, named)):
                gateway = gateways.for_app(target)
                with pytest.raises(GatewayError, match="not allowed") as send:
                    await gateway.send(CREDS, {"to": "1"})
                assert not send.value.ambiguous
                with pytest.raises(GatewayError, match="not allowed"):
                    await gateway.media_info(CREDS, "m1")
            assert graph.requests == []
            # Private URLs allowed (the sandbox's default): the same app reaches its Graph.
            await allowing.for_app(app).send(CREDS, {"to": "1"})
            assert [r.path for r in graph.requests] == ["/v23.0/1/messages"]
        finally:
            await refusing.aclose()
            await allowing.aclose()


# The API: URLs refused when they are given (notify, subscriber, graph_base_url), and flows'
# HTTP request nodes refused when they run.


async def test_api_refuses_names_resolving_to_private_addresses(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wanode.guard.system_resolver", table_resolver)
    async with running(db, start_engine=False, allow_private_urls=False) as wn:
        sent = await wn.send_text("4915112345678", "x", notifyurl="http://hooks.internal.test/dr")
        assert sent.status_code == 400
        error = sent.json()["response"]
        assert error["field"] == "notifyurl" and "10.1.2.3" in error["description"]

        sub = await wn.client.post(
            "/v1/subscriptions", json={"url": "https://hooks.internal.test/in"}
        )
        assert sub.status_code == 400 and sub.json()["error"]["field"] == "url"

        for base in ("https://graph.internal.test", "http://127.0.0.1:9", "http://[::1]:9"):
            app = await wn.client.post(
                "/v1/apps",
                json={
                    "phone_number_id": "4242",
                    "waba_id": "4343",
                    "access_token": "token",
                    "app_secret": "secret",
                    "graph_base_url": base,
                },
            )
            assert app.status_code == 400, app.text
            assert app.json()["error"]["field"] == "graph_base_url"
            assert app.json()["error"]["code"] == "7004"
        # A name that does not resolve is not refused at once (delivery retries instead).
        unknown = await wn.client.post(
            "/v1/apps",
            json={
                "phone_number_id": "4242",
                "waba_id": "4343",
                "access_token": "token",
                "app_secret": "secret",
                "graph_base_url": "https://graph.nowhere.test",
            },
        )
        assert unknown.status_code == 201, unknown.text


async def test_flow_http_node_refuses_a_private_address(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wanode.guard.system_resolver", table_resolver)
    async with running(db, allow_private_urls=False) as wn:
        await deploy(wn, http_flow("http://api.internal.test"))
        done = await finished(wn, await start(wn, "http"))
        assert path(done)[1] == ("n2", "onError")
        assert "192.168.7.7" in done["outputs"]["n2"]["https.statusText"]
        literal = await finished(wn, await start(wn, "http", base="http://127.0.0.1:9"))
        assert path(literal)[1] == ("n2", "onError")
        assert "non-public address 127.0.0.1" in literal["outputs"]["n2"]["https.statusText"]
