"""WANODE_PROTECT_DOCS: the API's documents take a key, /metrics an admin key; without the
setting they are open, as before. And `/sandbox` exists only with the in-process sandbox."""

from __future__ import annotations

import pytest
from tests.integration.test_app_keys import tenants
from tests.support.harness import running

from wanode.store import Database

pytestmark = pytest.mark.asyncio

DOCS = ["/openapi.json", "/docs", "/redoc"]


async def test_documents_and_metrics_take_a_key_when_protected(db: Database) -> None:
    async with running(db, start_engine=False, protect_docs=True) as wn:
        a, _b = await tenants(wn)
        for path in [*DOCS, "/metrics"]:
            answer = await wn.client.get(path, headers={"key": ""})
            assert answer.status_code == 401, (path, answer.text)
            assert answer.json()["error"]["code"] == "7002"
            wrong = await wn.client.get(path, headers={"key": "wk_not-a-key"})
            assert wrong.status_code == 401, (path, wrong.text)
            admin = await wn.client.get(path)  # the harness's admin key
            assert admin.status_code == 200, (path, admin.text)
        as_app = {"key": a.key}
        document = await wn.client.get("/openapi.json", headers=as_app)
        assert document.status_code == 200 and "/resources/v1/messaging" in document.json()["paths"]
        assert "swagger-ui" in (await wn.client.get("/docs", headers=as_app)).text
        metrics = await wn.client.get("/metrics", headers=as_app)
        assert metrics.status_code == 403, metrics.text
        # The health check stays open, for load balancers.
        assert (await wn.client.get("/healthz", headers={"key": ""})).status_code == 200


async def test_documents_and_metrics_are_open_by_default(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        for path in [*DOCS, "/metrics"]:
            answer = await wn.client.get(path, headers={"key": ""})
            assert answer.status_code == 200, (path, answer.text)
