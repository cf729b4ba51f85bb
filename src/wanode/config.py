"""The one settings object. Read once at start (env prefix WANODE_) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WANODE_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/wanode.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = Field(
        default=None,
        description="Base URL WhatsApp (or the sandbox) uses to reach this service's webhooks; "
        "defaults to http://HOST:PORT.",
    )
    log_level: str = "info"
    log_json: bool = False

    # Gateway defaults for apps that do not override them.
    graph_base_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v23.0"
    gateway_timeout: float = 10.0

    # The in-process sandbox mounted under /sandbox by `wanode serve`.
    sandbox: bool = True
    sandbox_sent_delay: float = 0.3
    sandbox_delivered_delay: float = 1.0
    sandbox_read_delay: float = 2.0

    # Dispatcher.
    worker: bool = True
    dispatch_batch: int = 100
    dispatch_concurrency: int = 32
    dispatch_lease_seconds: float = 60.0
    dispatch_max_attempts: int = 8
    dispatch_backoff_base: float = 1.0
    dispatch_backoff_max: float = 300.0
    poll_interval: float = 0.25

    # Delivery reports to notify URLs (reference/webex-connect.md §3).
    notify_timeout: float = 10.0
    notify_retries: int = 3
    notify_retry_interval: float = 60.0

    # Webhook statuses whose message is not known yet are kept this long before being dropped.
    orphan_status_ttl: float = 3600.0

    max_request_bytes: int = 4 * 1024 * 1024

    def webhook_url(self) -> str:
        base = self.public_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/") + "/webhooks/whatsapp"

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None
