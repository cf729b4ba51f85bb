"""Time-ordered ids for the rows keyed by an id wanode makes (messages' transids, flow runs).

A random UUID (version 4) lands each new row's key at a random place in every index on it:
the messages' primary key, the status history's (transid, status), the DR outbox's transid
indexes. Under a campaign each transaction then dirtied one index page per row (a status pass
of 60 statuses wrote about 60 pages of each such index to the WAL, 4 KiB each) and the pages
of recent messages were spread over the whole index, out of the page cache's reach as the
tables grew. A UUID of version 7 (RFC 9562) begins with the time in milliseconds, so the rows
of the moment share the rightmost pages of each index: a batch's rows fall on one or two
pages, which stay cached. (Measured in `bench/RESULTS.md`, eighth pass.)

The text is still a UUID as the Messaging API gives it (`transid`), 36 characters, and still
unguessable: 62 random bits after the 12-bit counter below. It does tell when it was made,
to the millisecond, which the message's own timestamps tell anyway.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0
# A new millisecond's counter starts at a random value below this, leaving room to count up.
_COUNTER_START = 1 << 11
_COUNTER_MAX = (1 << 12) - 1


def uuid7() -> str:
    """A new UUID of version 7, as text: 48 bits of Unix time in milliseconds, a 12-bit counter
    (RFC 9562's "fixed-length dedicated counter", method 1: ids made in one process sort in the
    order they were made, even within a millisecond), and 62 random bits."""
    global _last_ms, _counter
    random = int.from_bytes(os.urandom(10), "big")
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _counter = ms, (random >> 62) % _COUNTER_START
        elif _counter < _COUNTER_MAX:
            _counter += 1  # the same millisecond (or the clock stepped back): count on
        else:
            _last_ms, _counter = _last_ms + 1, 0  # borrow the next millisecond
        ms, counter = _last_ms, _counter
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | (random & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))
