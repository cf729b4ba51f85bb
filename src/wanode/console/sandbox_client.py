"""The console's line to the in-process sandbox: its HTTP control panel (`/sandbox/handsets/...`,
`/sandbox/templates/...`), called in-process through an ASGI transport.

The console drives the sandbox only through that documented surface, the one tests and the CLI
use, never through its internals: the sandbox's modules can move without the console noticing.
"""

from __future__ import annotations

import weakref
from typing import Any
from urllib.parse import quote

import httpx

from wanode.api.context import Context
from wanode.sandbox.platform.events import Subscription

# Handset actions the simulator offers (the control panel's `/handsets/{wa_id}/<action>`).
ACTIONS = frozenset(
    {
        "send",
        "send-media",
        "send-location",
        "send-contacts",
        "react",
        "tap-button",
        "pick-row",
        "tap-quick-reply",
    }
)


class SandboxRefused(Exception):
    """The control panel refused a request: `status` is its HTTP status, `detail` its words."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class SandboxClient:
    """The control panel of `ctx.sandbox`, over an in-process ASGI transport."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self._http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox"
        )

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = await self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise SandboxRefused(response.status_code, _detail(response))
        return response.json()

    async def numbers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._call("GET", "/numbers")
        return found

    async def handsets(
        self, *, limit: int = 100, phone_number_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The first page of the sandbox's handsets, most recently active first (`GET
        /handsets`), or those that exchanged a message with `phone_number_id`."""
        query = f"?limit={limit}"
        if phone_number_id is not None:
            query += f"&phone_number_id={quote(phone_number_id)}"
        found: dict[str, Any] = await self._call("GET", f"/handsets{query}")
        rows: list[dict[str, Any]] = found["data"]
        return rows

    def subscribe(self, wa_id: str) -> Subscription:
        """The sandbox's notices of the handset's changes (its event hook, in-process: an
        HTTP answer through the ASGI transport would arrive only once complete)."""
        subscription: Subscription = self.sandbox.events.subscribe(wa_id)
        return subscription

    async def handset(self, wa_id: str) -> dict[str, Any] | None:
        """The handset's settings and profile; None when the sandbox has not met it yet."""
        try:
            found: dict[str, Any] = await self._call("GET", f"/handsets/{quote(wa_id)}")
        except SandboxRefused as exc:
            if exc.status == 404:
                return None
            raise
        return found

    async def configure(self, wa_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = await self._call("PUT", f"/handsets/{quote(wa_id)}", changes)
        return found

    async def inbox(self, wa_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._call("GET", f"/handsets/{quote(wa_id)}/messages")
        return found

    async def sent(self, wa_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._call("GET", f"/handsets/{quote(wa_id)}/sent")
        return found

    async def rotate_identity(self, wa_id: str) -> str:
        found = await self._call("POST", f"/handsets/{quote(wa_id)}/identity")
        return str(found["identity_key_hash"])

    async def act(self, wa_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """The handset does `action` (one of `ACTIONS`); answers the control panel's JSON."""
        assert action in ACTIONS
        found: dict[str, Any] = await self._call("POST", f"/handsets/{quote(wa_id)}/{action}", body)
        return found

    async def templates(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self._call("GET", "/templates")
        return found

    async def set_template_status(
        self, template_id: str, status: str, reason: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"status": status}
        if reason:
            body["reason"] = reason
        found: dict[str, Any] = await self._call(
            "POST", f"/templates/{quote(template_id)}/status", body
        )
        return found

    async def attachment(self, media_id: str, phone_number_id: str) -> tuple[bytes, str] | None:
        """The bytes and type of media stored for `phone_number_id`, fetched with that
        number's token as the business would; None when there is no such media."""
        number = self.sandbox.find_number(phone_number_id)
        if number is None:
            return None
        response = await self._http.get(
            f"/attachments/{quote(media_id)}",
            headers={"Authorization": f"Bearer {number.access_token}"},
        )
        if response.status_code != 200:
            return None
        return response.content, response.headers.get("content-type", "application/octet-stream")


def _detail(response: httpx.Response) -> str:
    """The words of a control-panel or Graph error answer."""
    try:
        body = response.json()
    except ValueError:
        return f"the sandbox answered HTTP {response.status_code}"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            details = error.get("error_data")
            if isinstance(details, dict) and details.get("details"):
                return str(details["details"])
            return str(error.get("message") or error)
    return str(body)


# One client per sandbox object, gone with it (a test's fresh sandbox gets a fresh client).
_CLIENTS: weakref.WeakKeyDictionary[Any, SandboxClient] = weakref.WeakKeyDictionary()


def client(ctx: Context) -> SandboxClient | None:
    """The sandbox client of this process, None without an in-process sandbox."""
    if ctx.sandbox is None:
        return None
    found = _CLIENTS.get(ctx.sandbox)
    if found is None:
        found = _CLIENTS[ctx.sandbox] = SandboxClient(ctx.sandbox)
    return found
