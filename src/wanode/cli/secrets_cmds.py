"""`wanode secrets`: the keys encrypting the stored secrets (see docs/security.md)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

secrets = typer.Typer(
    no_args_is_help=True, help="Keys of the secrets stored encrypted (access tokens, ...)"
)
err = Console(stderr=True)


@secrets.command("rotate")
def rotate() -> None:
    """Encrypt every stored secret again with the first key of WANODE_SECRET_KEY; the other
    keys may be dropped afterwards."""
    # Imported here, as in `new-key`: the other commands (and `--help`) start without the store.
    from wanode.cli.bootstrap import open_database
    from wanode.config import Settings
    from wanode.store.keyring import seal_stored

    async def run() -> int:
        db = open_database(Settings())
        try:
            # Migrating checks that every stored secret opens with the configured keys.
            await db.migrate()
            async with db.begin() as conn:
                return await seal_stored(conn, db.keyring, rotate=True)
        finally:
            await db.dispose()

    count = asyncio.run(run())
    err.print(f"{count} stored secrets encrypted with the first key")


@secrets.command("new-key")
def new_key_command() -> None:
    """Print a new key (for WANODE_SECRET_KEY), alone on the line."""
    from wanode.store.keyring import new_key

    print(new_key())
