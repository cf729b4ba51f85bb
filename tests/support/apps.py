"""Apps written straight to the store, for tests that need several without the API."""

from __future__ import annotations

import uuid

from wanode.store import Database
from wanode.store import apps as app_queries


async def stored_app(db: Database, name: str) -> str:
    """A sandbox app of its own number, committed; its id."""
    async with db.begin() as conn:
        app = await app_queries.create_app(
            conn,
            name=name,
            phone_number_id=str(uuid.uuid4().int)[:15],
            waba_id="2",
            display_phone_number="1",
            access_token="t",
            app_secret="s",
            verify_token="v",
            gateway="sandbox",
            graph_base_url=None,
            api_version=None,
            notify_url=None,
        )
    return str(app["id"])
