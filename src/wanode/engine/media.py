"""Media: uploading a file to WhatsApp through an app's gateway, to send it later by id."""

from __future__ import annotations

from wanode.engine.gateways import Gateways, credentials
from wanode.engine.submit import UnknownApp
from wanode.store import Database
from wanode.store import apps as app_queries


async def upload(
    db: Database, gateways: Gateways, app_id: str, data: bytes, mime_type: str, filename: str
) -> str:
    """The media id WhatsApp gave the file. Raises `UnknownApp`, `MediaRejected`, `GatewayError`."""
    async with db.begin() as conn:
        app = await app_queries.get_app(conn, app_id)
    if app is None:
        raise UnknownApp(app_id)
    return await gateways.for_app(app).upload_media(credentials(app), data, mime_type, filename)
