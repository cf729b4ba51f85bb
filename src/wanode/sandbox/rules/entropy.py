"""Random bytes for the ids the platform mints (wamids, conversation ids, identity key hashes):
the OS's (what `secrets` draws), fetched a page at a time, where each id took a system call."""

from __future__ import annotations

import os


class Entropy:
    def __init__(self, page: int = 4096) -> None:
        self._page = page
        self._buffer = b""
        self._at = 0

    def bytes(self, size: int) -> bytes:
        """`size` random bytes, as `secrets.token_bytes(size)`."""
        if self._at + size > len(self._buffer):
            self._buffer, self._at = os.urandom(max(self._page, size)), 0
        start, self._at = self._at, self._at + size
        return self._buffer[start : self._at]

    def hex(self, size: int) -> str:
        """`size` random bytes as lower-case hex, as `secrets.token_hex(size)`."""
        return self.bytes(size).hex()

    def forget(self) -> None:
        """Drop what is left of the page (a forked child must not reuse its parent's)."""
        self._buffer, self._at = b"", 0


# One source for the whole process; the event loop's thread is the only one drawing.
ENTROPY = Entropy()
os.register_at_fork(after_in_child=ENTROPY.forget)
