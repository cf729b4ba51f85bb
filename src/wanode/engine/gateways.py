"""Which gateway serves an app: the Cloud API, or the sandbox (in-process or over HTTP)."""

from __future__ import annotations

from typing import Any

import httpx

from wanode.config import Settings
from wanode.gateway import CloudGateway, Credentials, Gateway
from wanode.guard import url_guard


class Gateways:
    """Builds and caches one gateway per (kind, base URL, API version).

    `cloud_transport`, when given, carries every request to a Graph API (an httpx transport:
    a mock of Graph in tests); by default they go over the network. An app's own
    `graph_base_url` comes from a user, so its gateway connects through the private-address
    guard (`wanode.guard`) unless private URLs are allowed; the configured
    WANODE_GRAPH_BASE_URL and WANODE_SANDBOX_URL are the operator's and are not guarded.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sandbox_app: Any | None = None,
        cloud_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._sandbox_app = sandbox_app
        self._cloud_transport = cloud_transport
        self._cache: dict[tuple[str, str, str], Gateway] = {}

    def for_app(self, app: dict[str, Any]) -> Gateway:
        version = app.get("api_version") or self._settings.graph_api_version
        base_url = app_url = app.get("graph_base_url") or ""
        in_process = app["gateway"] == "sandbox" and not base_url
        sandbox_app = self._sandbox_app
        if in_process and sandbox_app is None and self._settings.sandbox_url:
            # A worker process: the sandbox lives in the API process, reached over HTTP.
            in_process, base_url = False, self._settings.sandbox_url
        if in_process and sandbox_app is None:
            raise LookupError(
                f"app {app['id']} uses the in-process sandbox, which is not running here; "
                "give it a graph_base_url pointing at a `wanode sandbox` process, or set "
                "WANODE_SANDBOX_URL to the sandbox an API process mounts"
            )
        guard = url_guard(self._settings.private_urls_allowed()) if app_url else None
        kind = "asgi" if in_process else "guarded" if guard is not None else "http"
        key = (kind, base_url, version)
        gateway = self._cache.get(key)
        if gateway is None:
            if in_process and sandbox_app is not None:
                gateway = CloudGateway(
                    "http://sandbox",
                    version,
                    timeout=self._settings.gateway_timeout,
                    transport=httpx.ASGITransport(app=sandbox_app),
                )
            else:
                gateway = CloudGateway(
                    base_url or self._settings.graph_base_url,
                    version,
                    timeout=self._settings.gateway_timeout,
                    transport=self._cloud_transport,
                    guard=guard,
                )
            self._cache[key] = gateway
        return gateway

    async def aclose(self) -> None:
        for gateway in self._cache.values():
            await gateway.aclose()
        self._cache.clear()


def credentials(app: dict[str, Any]) -> Credentials:
    return Credentials(
        phone_number_id=app["phone_number_id"],
        access_token=app["access_token"],
        waba_id=app["waba_id"],
    )


def provision_in_sandbox(sandbox: Any, app: dict[str, Any], webhook_url: str) -> None:
    """Make the in-process sandbox know `app`'s number, token, secret and our webhook URL."""
    from wanode.sandbox import BusinessNumber

    sandbox.provision(
        BusinessNumber(
            phone_number_id=app["phone_number_id"],
            waba_id=app["waba_id"],
            display_phone_number=app["display_phone_number"],
            access_token=app["access_token"],
            app_secret=app["app_secret"],
            webhook_url=webhook_url,
        )
    )
