"""Read receipts: telling a customer their message was read, optionally with a typing indicator."""

from __future__ import annotations

from wanode.engine.gateways import Gateways, credentials
from wanode.gateway import Rejected
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import contacts as contact_queries


class UnknownInbound(LookupError):
    pass


async def mark_read(
    db: Database, gateways: Gateways, wamid: str, *, typing_indicator: bool = False
) -> Rejected | None:
    """Mark the inbound message `wamid` (and the thread before it) read; None when WhatsApp agreed.

    Raises `UnknownInbound` for a message wanode never received, and `GatewayError` when the
    gateway cannot be reached.
    """
    async with db.begin() as conn:
        inbound = await contact_queries.get_inbound(conn, wamid)
        app = await app_queries.get_app(conn, inbound["app_id"]) if inbound else None
    if inbound is None or app is None:
        raise UnknownInbound(wamid)
    gateway = gateways.for_app(app)
    return await gateway.mark_read(credentials(app), wamid, typing_indicator=typing_indicator)
