"""Secrets at rest: the credentials wanode keeps to act for an app or to sign for a subscriber
(access tokens, app secrets, verify tokens, subscription secrets) are stored encrypted, and are
in clear only in memory.

A stored secret is `enc:v1:` followed by a Fernet token (AES-128-CBC with HMAC-SHA256, from
`cryptography`). A value without that prefix is plaintext written before encryption existed:
it is read as it is, and encrypted at the next start (`seal_stored`, run by
`Database.migrate`). The prefix is how a value is known to be encrypted: nothing is decrypted
twice, and plaintext is never mistaken for a token.

Keys: `WANODE_SECRET_KEY`, one Fernet key or several separated by commas, the first encrypting
and every one decrypting (so a key is rotated by putting a new one first, running
`wanode secrets rotate`, then dropping the old one); unset, the key file
(`WANODE_SECRET_KEY_FILE`, one key a line, same rule), created 0600 on the first start.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store.tables import apps, notify_auth_profiles, subscriptions

PREFIX = "enc:v1:"
KEY_SETTING = "WANODE_SECRET_KEY"
KEY_FILE_SETTING = "WANODE_SECRET_KEY_FILE"
# The execution option through which a connection carries its database's keyring.
OPTION = "wanode_keyring"

# Every stored secret: a table keyed by `id`, and its secret columns.
SECRET_COLUMNS: tuple[tuple[sa.Table, tuple[str, ...]], ...] = (
    (apps, ("access_token", "app_secret", "verify_token", "notify_secret", "service_secret")),
    (subscriptions, ("secret",)),
    (notify_auth_profiles, ("secrets",)),
)

# Decrypted values are remembered by their token (a token is unique: Fernet draws a random IV),
# so that reading an app again costs a dict lookup, not an HMAC and an AES pass.
_MAX_OPENED = 10_000

# The standard library's logger, not structlog's: these events happen in commands that print
# JSON on stdout and configure no logging (`wanode apps add`), where structlog would print on
# stdout; unconfigured, the standard library drops info and writes warnings to stderr.
log = logging.getLogger(__name__)


class SecretKeyError(Exception):
    """The stored secrets cannot be read or written with the configured keys. The message
    names the setting to fix and never holds a key or a secret."""


class Keyring:
    """The keys of one process; `Keyring()` has none, and stores values as given (a database
    opened without settings, as tests and tools do) but refuses to read encrypted ones.

    `keys` come from `source` (the setting named in errors). With `key_file` instead, the keys
    are read from that file when first needed, and the file is created (0600, one new key)
    if it does not exist and the database holds nothing encrypted.
    """

    def __init__(
        self,
        keys: Sequence[str] = (),
        *,
        key_file: Path | None = None,
        source: str = KEY_SETTING,
    ) -> None:
        self._key_file = key_file
        if key_file is not None and not keys:
            source = f"the key file {key_file} ({KEY_FILE_SETTING})"
        self._source = source
        self._fernet = _fernet(keys, source) if keys else None
        self._opened: dict[str, str] = {}

    @classmethod
    def from_settings(cls, key: str | None, key_file: Path) -> Keyring:
        if key is not None and key.strip():
            return cls(key.split(","), source=KEY_SETTING)
        return cls(key_file=key_file)

    @property
    def encrypts(self) -> bool:
        """Whether new values are written encrypted."""
        return self._fernet is not None or self._key_file is not None

    def seal(self, value: str) -> str:
        """`value` as stored: encrypted with the first key (as given without keys)."""
        fernet = self._ready(create=True)
        if fernet is None:
            return value
        token = fernet.encrypt(value.encode("utf-8", "surrogatepass")).decode("ascii")
        self._remember(token, value)
        return PREFIX + token

    def open(self, stored: str, *, what: str) -> str:
        """The clear value of `stored` (plaintext from before encryption is returned as is).
        `what` says which secret it is in an error: a column and a row id, never a value."""
        if not stored.startswith(PREFIX):
            return stored
        token = stored[len(PREFIX) :]
        opened = self._opened.get(token)
        if opened is not None:
            return opened
        fernet = self._ready(create=False)
        if fernet is None:
            raise SecretKeyError(
                f"{what} is stored encrypted, but no key is configured: set {KEY_SETTING} "
                f"(or {KEY_FILE_SETTING}) to the key that encrypted it"
            )
        try:
            value = fernet.decrypt(token.encode("ascii")).decode("utf-8", "surrogatepass")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretKeyError(
                f"{what} was encrypted with a key that {self._source} does not hold: set "
                f"{KEY_SETTING} to the key that encrypted it (while rotating, the new key "
                "first, then the old ones, comma-separated)"
            ) from exc
        self._remember(token, value)
        return value

    def reseal(self, stored: str, *, what: str, rotate: bool) -> str | None:
        """What `stored` must become, or None if it stays: plaintext is encrypted; an encrypted
        value is checked (it must open) and, with `rotate`, encrypted again with the first
        key."""
        if not stored.startswith(PREFIX):
            return self.seal(stored) if self.encrypts else None
        value = self.open(stored, what=what)
        return self.seal(value) if rotate else None

    def _ready(self, *, create: bool) -> MultiFernet | None:
        if self._fernet is None and self._key_file is not None:
            self._fernet = _fernet(_read_key_file(self._key_file, create=create), self._source)
        return self._fernet

    def load(self, *, create: bool) -> None:
        """Read the key file now; create it only with `create` (the database holds nothing
        encrypted), otherwise a missing file is an error naming it."""
        self._ready(create=create)

    def _remember(self, token: str, value: str) -> None:
        if len(self._opened) >= _MAX_OPENED:
            self._opened.clear()
        self._opened[token] = value


PLAIN = Keyring()


def of(conn: AsyncConnection) -> Keyring:
    """The keyring of the database `conn` belongs to (`Database(..., keyring=...)`)."""
    keyring = conn.sync_engine.get_execution_options().get(OPTION)
    return keyring if isinstance(keyring, Keyring) else PLAIN


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def open_row(keyring: Keyring, row: dict[str, Any], table: sa.Table) -> dict[str, Any]:
    """`row` of `table` with its secret columns in clear."""
    for column in _secret_columns(table):
        value = row.get(column)
        if isinstance(value, str):
            row[column] = keyring.open(value, what=f"{table.name}.{column} of {row.get('id')}")
    return row


def seal_values(keyring: Keyring, values: dict[str, Any], table: sa.Table) -> dict[str, Any]:
    """`values` to write into `table`, with its secret columns encrypted."""
    sealed = dict(values)
    for column in _secret_columns(table):
        value = sealed.get(column)
        if isinstance(value, str):
            sealed[column] = keyring.seal(value)
    return sealed


async def seal_stored(conn: AsyncConnection, keyring: Keyring, *, rotate: bool = False) -> int:
    """Check that every stored secret opens with `keyring` (SecretKeyError otherwise), encrypt
    the plaintext ones, and with `rotate` encrypt every one again with the first key. Returns
    how many values were written."""
    rows: list[tuple[sa.Table, dict[str, Any]]] = []
    for table, columns in SECRET_COLUMNS:
        query = sa.select(table.c.id, *(table.c[name] for name in columns))
        rows.extend((table, dict(row)) for row in (await conn.execute(query)).mappings())
    encrypted = any(
        isinstance(value, str) and value.startswith(PREFIX)
        for _table, row in rows
        for value in row.values()
    )
    if keyring.encrypts:
        # A key file is created only for a database with nothing encrypted yet: a process
        # started without the key must not make a new one and strand what is stored.
        keyring.load(create=not encrypted)
    written = 0
    for table, row in rows:
        changes: dict[str, str] = {}
        for column in _secret_columns(table):
            value = row[column]
            what = f"{table.name}.{column} of {row['id']}"
            new = keyring.reseal(value, what=what, rotate=rotate) if value is not None else None
            if new is not None:
                changes[column] = new
        if changes:
            await conn.execute(table.update().where(table.c.id == row["id"]).values(**changes))
            written += len(changes)
    if written:
        log.info("secrets_sealed values=%d rotated=%s", written, rotate)
    return written


def private_file(path: Path) -> None:
    """Make `path` readable and writable by its owner only, if it exists and is wider."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("file_mode_tightened path=%s was=%s now=0o600", path, oct(mode))


def _secret_columns(table: sa.Table) -> tuple[str, ...]:
    for known, columns in SECRET_COLUMNS:
        if known is table:
            return columns
    return ()


def _fernet(keys: Sequence[str], source: str) -> MultiFernet:
    cleaned = [key.strip() for key in keys if key.strip()]
    if not cleaned:
        raise SecretKeyError(f"{source} holds no key")
    try:
        return MultiFernet([Fernet(key.encode("ascii")) for key in cleaned])
    except (ValueError, UnicodeError) as exc:
        # Never the value itself: it may be a real key with a typo.
        raise SecretKeyError(
            f"{source} holds something that is not a Fernet key (32 url-safe base64-encoded "
            "bytes); `wanode secrets new-key` prints a new one"
        ) from exc


def _read_key_file(path: Path, *, create: bool) -> list[str]:
    if not path.exists():
        if not create:
            raise SecretKeyError(
                f"stored secrets are encrypted, but the key file {path} does not exist: set "
                f"{KEY_SETTING}, or {KEY_FILE_SETTING} to the file holding the key that "
                "encrypted them"
            )
        _create_key_file(path)
    private_file(path)
    try:
        text = path.read_text("ascii")
    except (OSError, UnicodeError) as exc:
        raise SecretKeyError(
            f"the key file {path} ({KEY_FILE_SETTING}) cannot be read: {type(exc).__name__}"
        ) from exc
    keys = [line.strip() for line in text.splitlines()]
    return [key for key in keys if key and not key.startswith("#")]


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # 0600 from the start (O_EXCL: never over a file another process just made).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(new_key() + "\n")
        file.flush()
        os.fsync(file.fileno())
    log.info("secret_key_file_created path=%s", path)
