"""Entry points: short links and QR codes WhatsApp makes for an app's number (cloud-api.md §10),
kept in the store so they can be listed and rendered without asking WhatsApp again."""

from __future__ import annotations

from typing import Any

import structlog

from wanode.engine.gateways import Gateways, credentials
from wanode.engine.submit import UnknownApp
from wanode.entry_points import deep_link
from wanode.gateway import RequestRejected
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import entry_points as queries

log = structlog.get_logger(__name__)

# Graph's answer when the code does not exist (any more).
_NO_SUCH_CODE = 803


class UnknownEntryPoint(LookupError):
    pass


async def create(
    db: Database,
    gateways: Gateways,
    app_id: str,
    prefilled_message: str,
    *,
    image_format: str | None = None,
    now: float,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Have WhatsApp make a short link for `app_id`'s number and keep it.

    Returns the stored row, the app, and WhatsApp's answer (with `qr_image_url` when an
    `image_format` was asked for). Raises `UnknownApp`, `RequestRejected`, `GatewayError`.
    """
    async with db.begin() as conn:
        app = await app_queries.get_app(conn, app_id)
    if app is None:
        raise UnknownApp(app_id)
    gateway = gateways.for_app(app)
    created = await gateway.create_qr(credentials(app), prefilled_message, image_format)
    code = created["code"]
    link = created.get("deep_link_url")
    async with db.begin() as conn:
        row = await queries.create(
            conn,
            code=code,
            app_id=app_id,
            prefilled_message=prefilled_message,
            link=link if isinstance(link, str) and link else deep_link(code),
            at=now,
        )
    log.info("entry_point_created", app_id=app_id, code=code)
    return row, app, created


async def delete(db: Database, gateways: Gateways, code: str) -> None:
    """Delete the short link at WhatsApp, then here. One WhatsApp no longer knows is deleted
    here too. Raises `UnknownEntryPoint`, `RequestRejected`, `GatewayError`."""
    async with db.begin() as conn:
        row = await queries.get(conn, code)
        app = await app_queries.get_app(conn, row["app_id"]) if row else None
    if row is None or app is None:
        raise UnknownEntryPoint(code)
    try:
        await gateways.for_app(app).delete_qr(credentials(app), code)
    except RequestRejected as exc:
        if exc.rejected.code != _NO_SUCH_CODE:
            raise
        log.info("entry_point_already_gone", app_id=app["id"], code=code)
    async with db.begin() as conn:
        await queries.delete(conn, code)
    log.info("entry_point_deleted", app_id=app["id"], code=code)
