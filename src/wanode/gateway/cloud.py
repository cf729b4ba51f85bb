"""The Cloud API adapter: httpx against the Graph API, or anything speaking it (the sandbox)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from wanode.codes import META_CODES, meta_code
from wanode.gateway.base import (
    Accepted,
    Credentials,
    GatewayError,
    MediaRejected,
    MediaTooLarge,
    Rejected,
    RequestRejected,
    SendResult,
    TemplateRejected,
)
from wanode.guard import Guard, PrivateAddress
from wanode.transport import HttpxPoster, LeanClient, PooledTransport, Poster

# What a template read asks Graph for. Meta also has `quality_score`; the sandbox refuses it
# as an unknown field, so it is left out until the sandbox knows it.
TEMPLATE_FIELDS = "id,name,language,status,category,parameter_format,components,rejected_reason"
# Stops a Graph that keeps answering cursors from paging forever (250 pages of 100 is four
# times the largest WABA's 6,000 templates).
MAX_TEMPLATE_PAGES = 250
# Names a send across attempts; the sandbox honours it, Graph ignores it.
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Sends in flight at once, and connections kept open, per gateway origin: Graph serves every
# number from one host, and the dispatcher sends up to WANODE_DISPATCH_CONCURRENCY per number.
CONNECTIONS = 256
USER_AGENT = "wanode/0.1"


class CloudGateway:
    """Sends Cloud API payloads and media over HTTP.

    `transport` lets the same adapter talk to an in-process ASGI app (the sandbox); the client
    policy (auth, paths, error translation) stays here, the I/O stays in the transport. Without
    one, sends take the lean path (`wanode.transport.LeanClient`) and the cold calls
    (templates, media, QR codes) an httpx client. `guard` (an app's own `graph_base_url`,
    `wanode.guard`) guards and pins every connection of both.
    """

    def __init__(
        self,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v23.0",
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        template_page_size: int = 100,
        guard: Guard | None = None,
    ) -> None:
        self.api_version = api_version
        self.template_page_size = template_page_size
        self._base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport or PooledTransport(CONNECTIONS, guard=guard),
        )
        self._poster: Poster = (
            HttpxPoster(self._client)
            if transport is not None
            else LeanClient(
                timeout=timeout,
                connect_timeout=min(timeout, 5.0),
                per_origin=CONNECTIONS,
                headers={"User-Agent": USER_AGENT},
                resolve=None if guard is None else guard.addresses,
            )
        )

    async def send(
        self, creds: Credentials, payload: dict[str, Any], *, idempotency_key: str | None = None
    ) -> SendResult:
        headers = {**_auth(creds), "Content-Type": "application/json"}
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        url = f"{self._base_url}/{self.api_version}/{creds.phone_number_id}/messages"
        with _transport_errors():
            reply = await self._poster.post(url, orjson.dumps(payload), headers)
        body = _json(reply.content)
        if reply.status_code != 200 or not isinstance(body, dict):
            return _rejected(reply.status_code, body)
        try:
            return Accepted(
                wamid=str(body["messages"][0]["id"]),
                # A send to a BSUID may name no number: the user hides it behind a username.
                wa_id=str(body["contacts"][0].get("wa_id") or body["contacts"][0]["user_id"]),
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise GatewayError("gateway answered 200 without a message id", ambiguous=True) from exc

    async def mark_read(
        self, creds: Credentials, message_id: str, *, typing_indicator: bool = False
    ) -> Rejected | None:
        receipt: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing_indicator:
            receipt["typing_indicator"] = {"type": "text"}
        response = await self._post(creds, "messages", json=receipt)
        body = _body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            return _rejected(response.status_code, body)
        if body.get("success") is not True:
            raise GatewayError("gateway answered 200 without success", ambiguous=True)
        return None

    async def upload_media(
        self, creds: Credentials, data: bytes, mime_type: str, filename: str
    ) -> str:
        response = await self._post(
            creds,
            "media",
            files={"file": (filename, data, mime_type)},
            data={"messaging_product": "whatsapp", "type": mime_type},
        )
        body = _body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise MediaRejected(_rejected(response.status_code, body))
        media_id = body.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise GatewayError("gateway answered 200 without a media id", ambiguous=True)
        return media_id

    async def aclose(self) -> None:
        await self._poster.aclose()
        await self._client.aclose()

    async def media_info(self, creds: Credentials, media_id: str) -> dict[str, Any]:
        # `phone_number_id` makes Graph refuse media that belongs to another number.
        with _transport_errors():
            response = await self._client.get(
                f"/{self.api_version}/{media_id}",
                params={"phone_number_id": creds.phone_number_id},
                headers=_auth(creds),
            )
        body = _body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise MediaRejected(_rejected(response.status_code, body))
        if not isinstance(body.get("url"), str) or not body["url"]:
            raise GatewayError("gateway answered 200 without a media URL")
        return body

    async def download_media(self, creds: Credentials, url: str, *, max_bytes: int) -> bytes:
        with _transport_errors():
            async with self._client.stream("GET", url, headers=_auth(creds)) as response:
                if response.status_code != 200:
                    raise MediaRejected(
                        _rejected(response.status_code, await _error_body(response))
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge(max_bytes, int(declared))
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaTooLarge(max_bytes)
                    chunks.append(chunk)
        return b"".join(chunks)

    async def create_qr(
        self, creds: Credentials, prefilled_message: str, image_format: str | None = None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"prefilled_message": prefilled_message}
        if image_format is not None:
            request["generate_qr_image"] = image_format
        response = await self._post(creds, "message_qrdls", json=request)
        body = _body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise RequestRejected(_rejected(response.status_code, body))
        if not isinstance(body.get("code"), str) or not body["code"]:
            raise GatewayError("gateway answered 200 without a QR code", ambiguous=True)
        return body

    async def delete_qr(self, creds: Credentials, code: str) -> None:
        with _transport_errors():
            response = await self._client.delete(
                f"/{self.api_version}/{creds.phone_number_id}/message_qrdls/{code}",
                headers=_auth(creds),
            )
        body = _body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise RequestRejected(_rejected(response.status_code, body))

    async def list_templates(self, creds: Credentials) -> list[dict[str, Any]]:
        """Pages are followed by their `after` cursor on our own base URL, never by the
        `paging.next` URL itself: the bearer token goes only where it was configured to go.
        A page without `next` ends the list, unless it was full (the sandbox gives no `next`).
        """
        size = self.template_page_size
        params = {"fields": TEMPLATE_FIELDS, "limit": str(size)}
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_TEMPLATE_PAGES):
            body = await self._graph(
                "GET", f"{creds.waba_id}/message_templates", creds, params=params
            )
            data = body.get("data")
            if not isinstance(data, list):
                raise GatewayError("gateway listed templates without `data`")
            found.extend(item for item in data if isinstance(item, dict))
            paging = body.get("paging")
            paging = paging if isinstance(paging, dict) else {}
            cursors = paging.get("cursors")
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if not data or not isinstance(after, str) or not after or after in seen:
                break
            if "next" not in paging and len(data) < size:
                break
            seen.add(after)
            params = {**params, "after": after}
        return found

    async def get_template(self, creds: Credentials, template_id: str) -> dict[str, Any]:
        return await self._graph("GET", template_id, creds, params={"fields": TEMPLATE_FIELDS})

    async def create_template(self, creds: Credentials, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self._graph("POST", f"{creds.waba_id}/message_templates", creds, json=body)
        if not isinstance(answer.get("id"), str | int) or not str(answer["id"]):
            raise GatewayError("gateway created a template without an id", ambiguous=True)
        return answer

    async def delete_template(
        self, creds: Credentials, name: str, *, template_id: str | None = None
    ) -> None:
        params = {"name": name}
        if template_id is not None:
            params["hsm_id"] = template_id
        answer = await self._graph(
            "DELETE", f"{creds.waba_id}/message_templates", creds, params=params
        )
        if answer.get("success") is not True:
            raise GatewayError("gateway answered 200 without success", ambiguous=True)

    async def _graph(
        self, method: str, path: str, creds: Credentials, **content: Any
    ) -> dict[str, Any]:
        """A template call to `/{version}/{path}` answering an object; `TemplateRejected`
        otherwise."""
        with _transport_errors():
            response = await self._client.request(
                method, f"/{self.api_version}/{path}", headers=_auth(creds), **content
            )
        body = _body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise TemplateRejected(_rejected(response.status_code, body))
        return body

    async def _post(
        self,
        creds: Credentials,
        edge: str,
        *,
        headers: dict[str, str] | None = None,
        **content: Any,
    ) -> httpx.Response:
        """POST to `/{version}/{phone-number-id}/{edge}`, transport failures as `GatewayError`."""
        with _transport_errors():
            return await self._client.post(
                f"/{self.api_version}/{creds.phone_number_id}/{edge}",
                headers={**_auth(creds), **(headers or {})},
                **content,
            )


@contextlib.contextmanager
def _transport_errors() -> Iterator[None]:
    """httpx failures as `GatewayError`; ambiguous once the request may have been sent."""
    try:
        yield
    except PrivateAddress as exc:
        raise GatewayError(f"gateway address not allowed: {exc}") from exc
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise GatewayError(f"gateway unreachable: {type(exc).__name__}") from exc
    except httpx.TimeoutException as exc:
        raise GatewayError("gateway timed out after the request was sent", ambiguous=True) from exc
    except httpx.HTTPError as exc:
        raise GatewayError(
            f"gateway transport error: {type(exc).__name__}", ambiguous=True
        ) from exc


def _auth(creds: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.access_token}"}


async def _error_body(response: httpx.Response, limit: int = 64 * 1024) -> Any:
    """The JSON error object of a streamed answer, reading no more than `limit` bytes of it."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _body(response: httpx.Response) -> Any:
    return _json(response.content)


def _json(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _rejected(status_code: int, body: Any) -> Rejected:
    """The Graph error object of an answer that is not a 200 JSON object.

    Without one, a 5xx is a `GatewayError` (worth retrying) and anything else is code 1.
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        if status_code >= 500:
            raise GatewayError(f"gateway answered HTTP {status_code}", ambiguous=True)
        return Rejected(
            code=1,
            title="API Unknown",
            details=f"HTTP {status_code} without a Graph error object",
            http_status=status_code,
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
        http_status=status_code,
        retryable=known.retryable or status_code >= 500,
    )
