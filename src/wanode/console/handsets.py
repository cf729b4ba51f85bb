"""What the simulator's pages and actions share: which numbers a key may chat from, the
customers a key may see, and a handset's conversation as bubbles."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from wanode.api.context import Caller, Context
from wanode.console.chat import Bubble, conversation
from wanode.console.sandbox_client import SandboxClient
from wanode.store import apps as app_queries

WA_ID = re.compile(r"\d{6,20}")
EMOJI = ("👍", "❤️", "😂", "😮", "🙏")


async def visible_numbers(
    ctx: Context, sandbox: SandboxClient, caller: Caller
) -> list[dict[str, Any]]:
    """The sandbox's business numbers the caller may act for: every one for an admin key, its
    app's for an app's key."""
    numbers = await sandbox.numbers()
    if caller.admin:
        return numbers
    # The live feed asks at every change of the handset: the API's app cache spares the database.
    app = ctx.apps.get(caller.app_id or "")
    if app is None:
        async with ctx.db.begin() as conn:
            app = await app_queries.get_app(conn, caller.app_id or "")
        if app is not None:
            ctx.apps.put(app["id"], app)
    own = app["phone_number_id"] if app is not None else None
    return [number for number in numbers if number["phone_number_id"] == own]


async def load_chat(
    ctx: Context, sandbox: SandboxClient, caller: Caller, wa_id: str
) -> tuple[list[Bubble], list[dict[str, Any]], dict[str, Any] | None]:
    """The handset's bubbles with the numbers the caller sees, those numbers, its settings."""
    numbers = await visible_numbers(ctx, sandbox, caller)
    ids = {number["phone_number_id"] for number in numbers}
    inbox, sent, handset = await asyncio.gather(
        sandbox.inbox(wa_id), sandbox.sent(wa_id), sandbox.handset(wa_id)
    )
    return conversation(inbox, sent, ids), numbers, handset


async def customers(
    sandbox: SandboxClient, caller: Caller, numbers: list[dict[str, Any]], *, limit: int
) -> list[dict[str, Any]]:
    """The sandbox's handsets the caller may see, most recently active first: every one for
    an admin key; for an app's key, those that exchanged a message with its number."""
    if caller.admin:
        return await sandbox.handsets(limit=limit)
    found = await asyncio.gather(
        *(sandbox.handsets(limit=limit, phone_number_id=n["phone_number_id"]) for n in numbers)
    )
    rows = {row["wa_id"]: row for rows in found for row in rows}
    ordered = sorted(rows.values(), key=lambda row: row["last_activity"] or "", reverse=True)
    return ordered[:limit]
