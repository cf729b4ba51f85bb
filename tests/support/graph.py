"""A mock of the Graph API for apps on the Cloud API gateway, and what tests do with it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import respx
from tests.support.harness import Harness

GRAPH = "https://graph.facebook.com/v23.0/1065403522/messages"
TO = "4915112345678"
ACCEPTED = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": TO, "wa_id": TO}],
    "messages": [{"id": "wamid.CLOUD1"}],
}


async def cloud_app(wn: Harness, **settings: Any) -> str:
    """Register an app on the Cloud API gateway (number 1065403522); its id."""
    created = await wn.client.post(
        "/v1/apps",
        json={
            "phone_number_id": "1065403522",
            "waba_id": "1022901293",
            "access_token": "EAAG-token",
            "app_secret": "app-secret",
            "gateway": "cloud",
            **settings,
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@contextmanager
def graph_mock() -> Iterator[tuple[respx.MockRouter, httpx.MockTransport]]:
    """A mock of Graph, and the transport that carries the cloud gateway's requests to it."""
    graph = respx.MockRouter(assert_all_called=False)
    yield graph, httpx.MockTransport(graph.async_handler)
    assert all(route.called for route in graph.routes), (
        "a Graph route the test set up was never called"
    )


async def queue_text(wn: Harness, app_id: str) -> str:
    response = await wn.send_text(TO, "hello", appid=app_id)
    assert response.status_code == 200, response.text
    [queued] = response.json()["response"]
    return str(queued["transid"])
