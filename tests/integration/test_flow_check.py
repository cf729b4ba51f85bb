"""The flow runner's `check` (the console editor's Check) finds what deploy refuses and stores
nothing; the queries behind the console's versions and paged runs. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.harness import running

from wanode.store import Database
from wanode.store import flows as store

pytestmark = pytest.mark.asyncio


def definition(title: str = "9:00", **extra: Any) -> dict[str, Any]:
    return {
        "id": "checked",
        "variables": {"phone": ""},
        "nodes": {
            "s": {"type": "start", "on": {"onStart": "menu"}},
            "menu": {
                "type": "whatsapp",
                "destination": "$(phone)",
                "wa": {
                    "type": "list",
                    "list": {
                        "body": {"text": "Pick"},
                        "action": {
                            "button": "Slots",
                            "sections": [{"title": "Mon", "rows": [{"id": "a", "title": title}]}],
                        },
                    },
                },
                "on": {"onSuccess": "done"},
            },
            "done": {"type": "end", **extra},
        },
    }


async def test_check_finds_every_problem_deploy_refuses_and_stores_nothing(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        broken = definition("x" * 30, colour="red")
        problems = await wn.ctx.engine.flows.check(broken)
        assert [(p.node, p.field) for p in problems] == [
            ("done", "colour"),
            ("menu", "wa.list.action.sections[0].rows[0].title"),
        ]
        refused = await wn.client.post("/v1/flows", json=broken)
        assert refused.status_code == 400
        assert refused.json()["problems"] == [p.as_json() for p in problems]
        async with db.begin() as conn:
            assert await store.get_flow(conn, "checked") is None

        assert await wn.ctx.engine.flows.check(definition()) == []
        unknown_app = await wn.ctx.engine.flows.check(definition(), app_id="a_nope")
        assert [(p.field, p.code) for p in unknown_app] == [("app", "7104")]
        async with db.begin() as conn:
            assert await store.list_flows(conn) == []


async def test_versions_newest_first_and_runs_a_page_at_a_time(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        for _ in range(2):
            assert (await wn.client.post("/v1/flows", json=definition())).status_code == 201
        started = []
        for i in range(5):
            run = await wn.client.post(
                "/v1/flows/checked/runs", json={"variables": {"phone": f"+49151123474{i:02d}"}}
            )
            assert run.status_code == 201, run.text
            started.append(run.json()["id"])
        async with db.begin() as conn:
            versions = await store.list_versions(conn, "checked")
            assert [v["version"] for v in versions] == [2, 1]
            assert all(v["created_at"] > 0 for v in versions)
            first = await store.list_runs(conn, "checked", limit=3)
            rest = await store.list_runs(conn, "checked", limit=3, offset=3)
        assert len(first) == 3 and len(rest) == 2
        assert {r["id"] for r in first + rest} == set(started)
