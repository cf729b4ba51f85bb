"""The `wanode` command line: builds settings and calls in; no logic of its own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from wanode.cli import bench as bench_command
from wanode.cli import contacts as contacts_command
from wanode.cli import flows as flows_command
from wanode.cli import pacing as pacing_command
from wanode.cli import sandbox_cmds, secrets_cmds
from wanode.cli import send as send_command
from wanode.cli import templates as templates_command

if TYPE_CHECKING:
    import uvicorn
    from sqlalchemy.ext.asyncio import AsyncConnection

    from wanode.config import Settings

# The server (uvicorn, the API, the engine), the settings and the store are imported by the
# commands that use them: every call builds all the commands, and most need one of those or
# none (`--help`, `send`, `flows`, ...).

cli = typer.Typer(
    no_args_is_help=True, add_completion=False, help="wanode: WhatsApp messaging engine"
)
keys = typer.Typer(no_args_is_help=True, help="API keys")
apps = typer.Typer(no_args_is_help=True, help="WhatsApp business numbers (apps)")
db_cli = typer.Typer(no_args_is_help=True, help="Database")
cli.add_typer(keys, name="keys")
cli.add_typer(apps, name="apps")
apps.command("pacing")(pacing_command.pacing)
cli.add_typer(db_cli, name="db")
cli.add_typer(contacts_command.contacts, name="contacts")
cli.add_typer(templates_command.templates, name="templates")
cli.add_typer(flows_command.flows, name="flows")
cli.command("send")(send_command.send)
cli.add_typer(sandbox_cmds.handset, name="handset")
cli.add_typer(secrets_cmds.secrets, name="secrets")
cli.command("bench")(bench_command.bench)

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

# Meta takes media uploads up to 100 MB (documents); the standalone sandbox's body bound, with
# room for the multipart envelope.
SANDBOX_MAX_BODY_BYTES = 101 * 1024 * 1024


def main() -> None:
    try:
        cli()
    except Exception as exc:
        from wanode.store.keyring import SecretKeyError

        if not isinstance(exc, SecretKeyError):
            raise
        # Stored secrets that do not open: a start-up error naming the setting, no traceback.
        err.print(f"wanode: {exc}", markup=False, highlight=False)
        raise SystemExit(2) from None


def _in_database(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the configured database, migrated first."""
    from wanode.cli.bootstrap import open_database
    from wanode.config import Settings

    async def run() -> T:
        db = open_database(Settings())
        try:
            await db.migrate()
            async with db.begin() as conn:
                return await work(conn)
        finally:
            await db.dispose()

    return asyncio.run(run())


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Run the engine's loops in this process; --no-worker serves the API only, "
            "for `wanode worker` processes to do the rest",
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            help="Start N `wanode worker` processes and stop them with this one; this "
            "process then serves the API only",
        ),
    ] = 0,
    sandbox: Annotated[
        bool | None,
        typer.Option("--sandbox/--no-sandbox", help="Mount the built-in sandbox under /sandbox"),
    ] = None,
) -> None:
    """Run the API, the engine and (by default) the in-process sandbox."""
    from wanode.config import Settings
    from wanode.logs import configure

    overrides: dict[str, Any] = {
        k: v for k, v in {"host": host, "port": port, "sandbox": sandbox}.items() if v is not None
    }
    settings = Settings(**overrides)
    if settings.public_url is None and settings.host in ("0.0.0.0", "::"):
        settings.public_url = f"http://127.0.0.1:{settings.port}"
    if workers > 1 and settings.pacing and not settings.redis_url:
        raise typer.BadParameter(
            "several workers share the rate limits through Redis: set WANODE_REDIS_URL "
            "(or WANODE_PACING=false)",
            param_hint="--workers",
        )
    configure(settings.log_level, json=settings.log_json)
    run_on_uvloop(
        _serve(settings, worker=worker and settings.worker and not workers, workers=workers)
    )


def run_on_uvloop(main: Coroutine[Any, Any, None]) -> None:
    """`asyncio.run` on uvloop, for the long-running processes: with it, wanode used about
    30% less CPU per message than on asyncio's own loop (`bench/RESULTS.md`)."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


async def _serve(settings: Settings, *, worker: bool, workers: int = 0) -> None:
    import uvicorn

    from wanode.cli.bootstrap import build_service, ensure_defaults, open_database, provision_all
    from wanode.cli.workers import WorkerPool, freeze_startup_objects, worker_env

    db = open_database(settings)
    await db.migrate()
    first = await ensure_defaults(db, gateway="sandbox" if settings.sandbox else "cloud")
    try:
        app, ctx = build_service(
            settings, db, worker=worker, sandbox_state=settings.sandbox_state_file()
        )
    except Exception as exc:
        _refuse_state_file(exc, "WANODE_SANDBOX_STATE")
        raise
    if ctx.sandbox is not None:
        await provision_all(db, ctx.sandbox, settings)
    base = f"http://{settings.host}:{settings.port}"
    out.print(f"wanode listening on {base}")
    console = (settings.public_url or base).rstrip("/") + "/console"
    out.print(f"console: {console} (sign in with an API key)")
    if ctx.sandbox is not None:
        out.print(
            f"sandbox: {base}/sandbox (handset inbox: GET {base}/sandbox/handsets/<wa_id>/messages)"
        )
    out.print(f"default app id: {first.app['id']}")
    out.print(f"default app phone_number_id: {first.app['phone_number_id']}")
    if first.new_key:
        out.print("API key (shown once, keep it):")
        out.print(first.new_key, soft_wrap=True)
    sys.stdout.flush()
    config = bounded_config(app, settings, host=settings.host, port=settings.port)
    pool = WorkerPool(workers, worker_env(settings))
    # uvicorn stops on SIGTERM and SIGINT, then raises the signal again for the handler it
    # found: this one returns, so the workers are stopped and the database closed before exit.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _ignore_signal)
    try:
        await pool.start()
        if workers:
            out.print(f"workers: {workers} (pids {', '.join(map(str, pool.pids))})")
            sys.stdout.flush()
        freeze_startup_objects()
        await uvicorn.Server(config).serve()
    finally:
        await pool.stop()
        await db.dispose()


# Seconds a stopping server waits for open requests before it cancels them.
GRACEFUL_SHUTDOWN = 3


def bounded_config(app: Any, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """uvicorn's configuration with every stage of a request bounded in size and time: its
    headers by the protocol (uvicorn bounds neither), idle connections by the keep-alive, and
    the connections and requests served at once by `limit_concurrency` (503 past it), and
    the shutdown by `timeout_graceful_shutdown`: requests still open then (the console's live
    feeds never end by themselves) are cancelled. Bodies are bounded by `BodyLimit`, which the
    app carries."""
    import uvicorn

    from wanode.cli.http_protocol import BoundedHttpToolsProtocol

    protocol = BoundedHttpToolsProtocol.with_limits(
        max_header_bytes=settings.max_header_bytes, header_timeout=settings.header_timeout
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        http=protocol,
        timeout_keep_alive=settings.keep_alive_timeout,
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
    )


def _ignore_signal(_signum: int, _frame: object) -> None:
    return None


@cli.command()
def worker() -> None:
    """Run the engine's loops (dispatch, statuses, DRs, subscriber events, media, templates)
    without the API, until SIGTERM or SIGINT. Start several against one PostgreSQL database
    (and one Redis, WANODE_REDIS_URL) to scale out."""
    from wanode.cli.workers import run_worker
    from wanode.config import Settings
    from wanode.logs import configure

    settings = Settings()
    configure(settings.log_level, json=settings.log_json)

    def ready() -> None:
        out.print(f"wanode worker running (pid {os.getpid()})")
        sys.stdout.flush()

    run_on_uvloop(run_worker(settings, ready))


@cli.command("sandbox")
def sandbox_cmd(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8090,
    phone_number_id: Annotated[
        str | None, typer.Option(help="Provision this business number at start")
    ] = None,
    waba_id: Annotated[str, typer.Option()] = "100000000000000",
    display_phone_number: Annotated[str, typer.Option()] = "15550100001",
    access_token: Annotated[str | None, typer.Option(envvar="WANODE_SANDBOX_ACCESS_TOKEN")] = None,
    app_secret: Annotated[str | None, typer.Option(envvar="WANODE_SANDBOX_APP_SECRET")] = None,
    webhook_url: Annotated[
        str, typer.Option(help="Where the sandbox posts webhooks")
    ] = "http://127.0.0.1:8080/webhooks/whatsapp",
    state: Annotated[
        str | None,
        typer.Option(
            help="A SQLite file to keep the sandbox's state in across restarts (numbers, "
            "templates, handsets, windows, inboxes, media, pending statuses); unset: in memory"
        ),
    ] = None,
) -> None:
    """Run the sandbox WhatsApp Business Platform alone (Graph-style paths at the root)."""
    from wanode.cli.bootstrap import build_sandbox
    from wanode.config import Settings
    from wanode.logs import configure
    from wanode.sandbox import BusinessNumber

    settings = Settings()
    configure(settings.log_level, json=settings.log_json)
    try:
        sb = build_sandbox(settings, state_file=state)
    except Exception as exc:
        _refuse_state_file(exc, "--state")
        raise
    if phone_number_id:
        if not access_token or not app_secret:
            raise typer.BadParameter(
                "--access-token and --app-secret are required with --phone-number-id"
            )
        sb.provision(
            BusinessNumber(
                phone_number_id=phone_number_id,
                waba_id=waba_id,
                display_phone_number=display_phone_number,
                access_token=access_token,
                app_secret=app_secret,
                webhook_url=webhook_url,
            )
        )
    from wanode.api.limits import BodyLimit

    bounded = BodyLimit(
        sb.app, max_bytes=SANDBOX_MAX_BODY_BYTES, read_timeout=settings.request_body_timeout
    )
    config = bounded_config(bounded, settings, host=host, port=port)
    run_on_uvloop(_run_sandbox(sb, config, f"sandbox listening on http://{host}:{port}"))


def _refuse_state_file(exc: Exception, setting: str) -> None:
    """A sandbox state file that cannot be used stops the start with exit code 2, naming it."""
    from wanode.sandbox.state.state_file import StateFileError

    if isinstance(exc, StateFileError):
        err.print(f"wanode: {exc} (see {setting})", markup=False, highlight=False)
        raise typer.Exit(2) from None


async def _run_sandbox(sandbox: Any, config: uvicorn.Config, ready: str) -> None:
    """Serve the sandbox, printing `ready` once its socket accepts connections (scripts wait
    for that line and then call it); on SIGTERM or SIGINT stop serving, then close it (its
    state file gets the last changes)."""
    import uvicorn

    class Announcing(uvicorn.Server):
        """A uvicorn server that prints `ready` once it is listening, not before."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                out.print(ready)
                sys.stdout.flush()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _ignore_signal)
    sandbox.start()
    try:
        await Announcing(config).serve()
    finally:
        await sandbox.aclose()


@keys.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A label for the key")] = "cli",
    app: Annotated[
        str | None, typer.Option("--app", help="The app the key acts on (its resources only)")
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="An admin key, acting on every app")
    ] = False,
) -> None:
    """Create an API key for one app (--app) or an admin key (--admin; also the default
    without either, as before keys had apps); the key is printed alone on the last line."""
    from wanode.store import apps as app_queries

    if app is not None and admin:
        raise typer.BadParameter("give --app or --admin, not both", param_hint="--app")

    async def create(conn: AsyncConnection) -> str | None:
        if app is not None and await app_queries.get_app(conn, app) is None:
            return None
        return await app_queries.create_key(conn, name, app_id=app, admin=app is None)

    key = _in_database(create)
    if key is None:
        err.print(f"no app {app}", markup=False)
        raise typer.Exit(2)
    kind = f"for app {app}" if app is not None else "admin, acting on every app"
    err.print(f"New API key ({kind}; only its hash is stored, this is the one time it is shown):")
    print(key)


@keys.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List API keys (revoked ones too), never the keys themselves."""
    from wanode.api.shapes import public_key
    from wanode.store import apps as app_queries

    found = [public_key(row) for row in _in_database(app_queries.list_keys)]
    if as_json:
        out.print_json(json.dumps(found))
        return
    table = Table("id", "name", "prefix", "app", "created", "revoked")
    for key in found:
        table.add_row(
            key["id"],
            key["name"],
            key["prefix"],
            "admin" if key["admin"] else key["app_id"],
            key["created_at"],
            key["revoked_at"] or "",
        )
    out.print(table)


@keys.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (keys list)")]) -> None:
    """Revoke an API key: refused from then on (within seconds by running servers)."""
    from wanode.store import apps as app_queries

    async def revoke(conn: AsyncConnection) -> dict[str, Any] | None:
        row = await app_queries.get_key(conn, key_id)
        if row is not None:
            await app_queries.revoke_key(conn, key_id, at=time.time())
        return row

    row = _in_database(revoke)
    if row is None:
        err.print(f"no API key {key_id}", markup=False)
        raise typer.Exit(2)
    if row["revoked_at"] is not None:
        out.print(f"{key_id} was already revoked")
    else:
        out.print(f"revoked {key_id}")


@keys.command("service-secret")
def keys_service_secret(
    app: Annotated[str, typer.Option("--app", help="The app (the JWT's iss, its service id)")],
) -> None:
    """Make (or replace) an app's service secret, which signs its JWTs (HS256, iss = the app
    id); printed alone on the last line, this one time. Tokens signed with the old one stop
    working."""
    from wanode.api.jwt_auth import new_service_secret
    from wanode.store import apps as app_queries

    secret = new_service_secret()

    async def store(conn: AsyncConnection) -> bool:
        return await app_queries.update_app(conn, app, service_secret=secret) is not None

    if not _in_database(store):
        err.print(f"no app {app}", markup=False)
        raise typer.Exit(2)
    err.print(f"Service id: {app}")
    err.print("Service secret (stored encrypted; this is the one time it is shown):")
    out.print(secret, soft_wrap=True)


@keys.command("jwt")
def keys_jwt(
    app: Annotated[str, typer.Option("--app", help="The app the token acts for")],
) -> None:
    """Print a JWT for trying the API (`Authorization: Bearer <jwt>`), signed with the app's
    service secret, valid for 60 minutes."""
    from wanode.api.jwt_auth import make
    from wanode.store import apps as app_queries

    async def read(conn: AsyncConnection) -> dict[str, Any] | None:
        return await app_queries.get_app(conn, app)

    found = _in_database(read)
    if found is None:
        err.print(f"no app {app}", markup=False)
        raise typer.Exit(2)
    if not found.get("service_secret"):
        err.print(f"app {app} has no service secret: wanode keys service-secret --app {app}")
        raise typer.Exit(2)
    out.print(make(app, found["service_secret"]), soft_wrap=True)


@apps.command("add")
def apps_add(
    phone_number_id: Annotated[str, typer.Option()],
    waba_id: Annotated[str, typer.Option()],
    access_token: Annotated[
        str, typer.Option(envvar="WANODE_APP_ACCESS_TOKEN", prompt=True, hide_input=True)
    ],
    app_secret: Annotated[
        str, typer.Option(envvar="WANODE_APP_SECRET", prompt=True, hide_input=True)
    ],
    verify_token: Annotated[
        str, typer.Option(envvar="WANODE_APP_VERIFY_TOKEN", prompt=True, hide_input=True)
    ],
    name: Annotated[str, typer.Option()] = "WhatsApp app",
    display_phone_number: Annotated[str, typer.Option()] = "",
    gateway: Annotated[str, typer.Option(help="cloud or sandbox")] = "cloud",
    graph_base_url: Annotated[
        str | None, typer.Option(help="Graph API base URL (default Meta's)")
    ] = None,
    api_version: Annotated[str | None, typer.Option()] = None,
    notify_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Register a WhatsApp business number. Secrets are stored, never printed."""
    from wanode.api.shapes import AppIn, public_app
    from wanode.store import apps as app_queries

    try:
        body = AppIn(
            name=name,
            phone_number_id=phone_number_id,
            waba_id=waba_id,
            display_phone_number=display_phone_number,
            access_token=access_token,
            app_secret=app_secret,
            verify_token=verify_token,
            gateway=gateway,  # type: ignore[arg-type]
            graph_base_url=graph_base_url,
            api_version=api_version,
            notify_url=notify_url,
        )
    except ValueError as exc:
        err.print(f"invalid app: {exc}")
        raise typer.Exit(2) from exc
    _refuse_private_urls(notify_url=body.notify_url, graph_base_url=body.graph_base_url)
    values = body.model_dump()
    values["display_phone_number"] = values["display_phone_number"] or phone_number_id

    from sqlalchemy.exc import IntegrityError

    try:
        app = _in_database(lambda conn: app_queries.create_app(conn, **values))
    except IntegrityError:
        # As the API answers it (409 on `phone_number_id`), not a traceback.
        err.print(
            f"invalid app: phone_number_id {phone_number_id} is already registered "
            "(wanode apps list)",
            markup=False,
        )
        raise typer.Exit(2) from None
    out.print_json(json.dumps(public_app(app)))


def _refuse_private_urls(**urls: str | None) -> None:
    """The API's check of an app's URLs (`wanode.guard`), as an exit with status 2."""
    from wanode.config import Settings
    from wanode.guard import PrivateAddress, refuse_private

    allowed = Settings().private_urls_allowed()
    for field, url in urls.items():
        if url is None:
            continue
        try:
            asyncio.run(refuse_private(url, allow_private=allowed))
        except PrivateAddress as exc:
            err.print(
                f"invalid app: {field}: {exc}; private addresses are refused "
                "(WANODE_ALLOW_PRIVATE_URLS)",
                markup=False,
            )
            raise typer.Exit(2) from exc


@apps.command("list")
def apps_list() -> None:
    """List registered apps (without secrets)."""
    from wanode.api.shapes import public_app
    from wanode.store import apps as app_queries

    found = _in_database(app_queries.list_apps)
    out.print_json(json.dumps([public_app(a) for a in found]))


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""

    async def nothing(_conn: AsyncConnection) -> None:
        return None

    _in_database(nothing)
    out.print("database is up to date")


@cli.command()
def listen(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 9000,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
) -> None:
    """Print every request POSTed to http://HOST:PORT/... (a local notify URL for trying wanode)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from wanode.config import Settings

    async def show(request: Request) -> Response:
        raw = await request.body()
        try:
            out.print(f"[bold]{request.method} {request.url.path}[/bold]")
            out.print_json(raw.decode())
        except ValueError:
            out.print(raw.decode(errors="replace"))
        return Response(status_code=200)

    app = Starlette(routes=[Route("/{path:path}", show, methods=["POST", "PUT", "GET", "HEAD"])])
    out.print(f"listening on http://{host}:{port}/ (Ctrl-C to stop)")
    settings = Settings()
    from wanode.api.limits import BodyLimit

    bounded = BodyLimit(
        app, max_bytes=settings.max_request_bytes, read_timeout=settings.request_body_timeout
    )
    uvicorn.Server(bounded_config(bounded, settings, host=host, port=port)).run()
