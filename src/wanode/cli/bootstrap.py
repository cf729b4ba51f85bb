"""Building a running wanode from settings: database, sandbox, engine, API."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wanode.config import Settings
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store.keyring import Keyring

if TYPE_CHECKING:
    from fastapi import FastAPI

    from wanode.api import Context

# The API, the engine and the sandbox are imported where they are built, not here: the CLI's
# database commands (keys, apps, contacts, secrets) import this module and need only the store.


@dataclass
class FirstRun:
    app: dict[str, Any]
    new_key: str | None


def build_sandbox(
    settings: Settings, *, webhook_transport: Any | None = None, state_file: str | None = None
) -> Any:
    """The in-process sandbox; `webhook_transport` (an httpx transport) replaces real HTTP;
    with `state_file` its state survives restarts (it is read back now; `start` resumes it)."""
    from wanode.sandbox import HandsetConfig, Sandbox, SandboxConfig

    return Sandbox(
        SandboxConfig(
            default_handset=HandsetConfig(
                sent_delay=settings.sandbox_sent_delay,
                delivered_delay=settings.sandbox_delivered_delay,
                read_delay=settings.sandbox_read_delay,
            ),
            template_review_delay=settings.sandbox_template_review_delay,
            fetch_media=settings.sandbox_fetch_media,
            media_fetch_timeout=settings.sandbox_media_fetch_timeout,
            enforce_window=settings.sandbox_enforce_window,
            identity_check=settings.sandbox_identity_check,
            # 0 lifts a limit (an environment variable cannot say None).
            throughput_mps=settings.sandbox_throughput_mps or None,
            pair_limit=settings.sandbox_pair_limit,
            marketing_limit=settings.sandbox_marketing_limit or None,
            spam_limit=settings.sandbox_spam_limit or None,
            template_pause_signals=settings.sandbox_template_pause_signals or None,
            webhook_batch=settings.sandbox_webhook_batch,
            fault_rate=settings.sandbox_fault_rate,
            fault_kinds=settings.sandbox_fault_kinds,
            fault_seed=settings.sandbox_fault_seed,
            fault_hang=settings.sandbox_fault_hang,
            state_file=state_file,
        ),
        webhook_transport=webhook_transport,
    )


def open_database(settings: Settings) -> Database:
    """The configured database, with the keyring of its stored secrets (the key file, if it is
    the source, is read or created by `Database.migrate`)."""
    key = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    return Database(
        settings.database_url,
        schema=settings.database_schema,
        pool_size=settings.database_pool_size,
        ping_idle_after=settings.database_ping_idle_after,
        sqlite_driver=settings.sqlite_driver,
        keyring=Keyring.from_settings(key, settings.secret_key_path()),
    )


async def ensure_defaults(db: Database, *, gateway: str) -> FirstRun:
    """On an empty database: create a default app on `gateway` and a first API key."""
    async with db.begin() as conn:
        apps = await app_queries.list_apps(conn)
        app = apps[0] if apps else None
        if app is None:
            app = await app_queries.create_app(
                conn,
                name="Default app",
                phone_number_id="1" + "".join(secrets.choice("0123456789") for _ in range(14)),
                waba_id="2" + "".join(secrets.choice("0123456789") for _ in range(14)),
                display_phone_number="15550100001",
                access_token=secrets.token_urlsafe(32),
                app_secret=secrets.token_hex(16),
                verify_token=secrets.token_urlsafe(16),
                gateway=gateway,
                graph_base_url=None,
                api_version=None,
                notify_url=None,
            )
        new_key = None
        if await app_queries.count_keys(conn) == 0:
            new_key = await app_queries.create_key(conn, "default", admin=True)
    return FirstRun(app=app, new_key=new_key)


async def provision_all(db: Database, sandbox: Any, settings: Settings) -> None:
    """Tell the in-process sandbox our numbers: a sandbox without a state file knows none, and
    one with a file takes their current credentials and webhook URL."""
    from wanode.engine.gateways import provision_in_sandbox

    async with db.begin() as conn:
        apps = await app_queries.list_apps(conn)
    for app in apps:
        if app["gateway"] == "sandbox" and not app["graph_base_url"]:
            provision_in_sandbox(sandbox, app, settings.webhook_url())


def build_service(
    settings: Settings,
    db: Database,
    *,
    worker: bool = True,
    webhook_transport: Any | None = None,
    cloud_transport: Any | None = None,
    clock: Callable[[], float] = time.time,
    sandbox_state: str | None = None,
) -> tuple[FastAPI, Context]:
    """The API and engine, and the in-process sandbox unless turned off; `sandbox_state` is its
    state file (`wanode serve` passes `Settings.sandbox_state_file()`; tests keep it in memory)."""
    from wanode.api import Context, create_app
    from wanode.engine import Engine, Gateways

    sandbox = (
        build_sandbox(settings, webhook_transport=webhook_transport, state_file=sandbox_state)
        if settings.sandbox
        else None
    )
    gateways = Gateways(
        settings,
        sandbox_app=sandbox.app if sandbox is not None else None,
        cloud_transport=cloud_transport,
    )
    engine = Engine(db, settings, gateways, loops=worker, clock=clock)
    ctx = Context(settings=settings, db=db, engine=engine, sandbox=sandbox)
    return create_app(ctx), ctx
