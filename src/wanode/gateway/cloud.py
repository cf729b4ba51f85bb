"""The Cloud API adapter: httpx against the Graph API, or anything speaking it (the sandbox)."""

from __future__ import annotations

from typing import Any

import httpx

from wanode.codes import META_CODES, meta_code
from wanode.gateway.base import Accepted, Credentials, GatewayError, Rejected, SendResult


class CloudGateway:
    """Sends Cloud API payloads over HTTP.

    `transport` lets the same adapter talk to an in-process ASGI app (the sandbox); the client
    policy (auth, paths, error translation) stays here, the I/O stays in the transport.
    """

    def __init__(
        self,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v23.0",
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_version = api_version
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def send(self, creds: Credentials, payload: dict[str, Any]) -> SendResult:
        path = f"/{self.api_version}/{creds.phone_number_id}/messages"
        try:
            response = await self._client.post(
                path, json=payload, headers={"Authorization": f"Bearer {creds.access_token}"}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise GatewayError(f"gateway unreachable: {type(exc).__name__}") from exc
        except httpx.TimeoutException as exc:
            raise GatewayError(
                "gateway timed out after the request was sent", ambiguous=True
            ) from exc
        except httpx.HTTPError as exc:
            raise GatewayError(
                f"gateway transport error: {type(exc).__name__}", ambiguous=True
            ) from exc
        return _translate(response)

    async def aclose(self) -> None:
        await self._client.aclose()


def _translate(response: httpx.Response) -> SendResult:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict):
        try:
            return Accepted(
                wamid=str(body["messages"][0]["id"]),
                wa_id=str(body["contacts"][0]["wa_id"]),
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise GatewayError("gateway answered 200 without a message id", ambiguous=True) from exc
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        if response.status_code >= 500:
            raise GatewayError(f"gateway answered HTTP {response.status_code}", ambiguous=True)
        return Rejected(
            code=1,
            title="API Unknown",
            details=f"HTTP {response.status_code} without a Graph error object",
            http_status=response.status_code,
            retryable=False,
        )
    code = int(error["code"])
    known = meta_code(code)
    details = ""
    if isinstance(error.get("error_data"), dict):
        details = str(error["error_data"].get("details", ""))
    return Rejected(
        code=code,
        title=known.title if code in META_CODES else str(error.get("message") or known.title),
        details=details or str(error.get("message", "")),
        http_status=response.status_code,
        retryable=known.retryable or response.status_code >= 500,
    )
