"""The sandbox's own SQLite file (stdlib `sqlite3`, WAL): its state across restarts.

Two tables: `items`, one JSON body per (kind, key), in the order first written (the rowid;
an update keeps it), and `media`, the bytes of uploaded media. `Batch` is what one flush
writes, in one transaction. The file is the sandbox's alone: nothing else reads or writes it,
and a newer sandbox refuses one whose `user_version` it does not know.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wanode.sandbox.state.media import StoredMedia

VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS items ("
    " kind TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (kind, key))",
    "CREATE TABLE IF NOT EXISTS media ("
    " media_id TEXT PRIMARY KEY, phone_number_id TEXT NOT NULL, mime_type TEXT NOT NULL,"
    " filename TEXT NOT NULL, data BLOB NOT NULL)",
)


class StateFileError(Exception):
    """The state file cannot be used: not a SQLite file, not writable, or of another version."""


@dataclass
class Batch:
    """Rows to write: `upserts` of (kind, key, body), `deletes` of (kind, key), media added
    and media ids deleted."""

    upserts: list[tuple[str, str, bytes]] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)
    media: list[StoredMedia] = field(default_factory=list)
    media_deleted: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.upserts or self.deletes or self.media or self.media_deleted)

    def extend(self, other: Batch) -> None:
        self.upserts += other.upserts
        self.deletes += other.deletes
        self.media += other.media
        self.media_deleted += other.media_deleted


class StateFile:
    """One SQLite file; `write` may run in a worker thread (one at a time, under a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists()
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if fresh:
                # It holds the numbers' access tokens and app secrets.
                os.chmod(self.path, 0o600)
            self._open()
        except (OSError, sqlite3.Error) as exc:
            raise StateFileError(f"sandbox state file {self.path}: {exc}") from exc

    def _open(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, VERSION):
            self._db.close()
            raise StateFileError(
                f"sandbox state file {self.path} is of version {version}; this wanode reads "
                f"version {VERSION}"
            )
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.execute(f"PRAGMA user_version={VERSION}")

    def items(self, kind: str) -> Iterator[tuple[str, bytes]]:
        """Every (key, body) of `kind`, in the order first written."""
        rows = self._db.execute(
            "SELECT key, body FROM items WHERE kind = ? ORDER BY rowid", (kind,)
        )
        yield from rows

    def media(self) -> Iterator[StoredMedia]:
        rows = self._db.execute(
            "SELECT media_id, phone_number_id, mime_type, filename, data FROM media ORDER BY rowid"
        )
        for media_id, phone_number_id, mime_type, filename, data in rows:
            yield StoredMedia(media_id, phone_number_id, mime_type, filename, bytes(data))

    def write(self, batch: Batch) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO items (kind, key, body) VALUES (?, ?, ?) "
                    "ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
                    batch.upserts,
                )
                self._db.executemany("DELETE FROM items WHERE kind = ? AND key = ?", batch.deletes)
                self._db.executemany(
                    "INSERT OR REPLACE INTO media VALUES (?, ?, ?, ?, ?)",
                    [
                        (m.media_id, m.phone_number_id, m.mime_type, m.filename, m.data)
                        for m in batch.media
                    ],
                )
                self._db.executemany(
                    "DELETE FROM media WHERE media_id = ?", [(i,) for i in batch.media_deleted]
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
