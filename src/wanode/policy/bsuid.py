"""Business-scoped user ids (BSUIDs): the id WhatsApp gives a user within one business.

Since 2026 Meta sends a user's BSUID as `user_id` beside (and, for users who hide their number
behind a username, instead of) the `wa_id`, and accepts it as a send's `recipient` in place of
`to`. Its form, as Meta and the providers document it: an ISO 3166 alpha-2 country code in
capitals, a period, then up to 128 letters and digits (`US.13491208655302741918`). The
enterprise-wide "parent" BSUID (`US.ENT.118…`) is another identity and not accepted here.

Two limits of our own, both below anything seen in practice (BSUIDs are about 20 digits):
a destination is at most 128 characters in all, the width of the outbox's `destination`;
what a webhook tells us is kept up to `MAX_STORED` characters and ignored beyond.
"""

from __future__ import annotations

import re
from typing import Final, TypeGuard

from wanode.codes import SYNC
from wanode.messages import InvalidMessage

PATTERN: Final = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]{1,128}")
MAX_DESTINATION: Final = 128
MAX_STORED: Final = 140


def check_bsuid(raw: str, *, field: str = "destination") -> str:
    """`raw` as a BSUID to send to, or `InvalidMessage` naming `field` (7003 when empty, 7004
    otherwise). Surrounding spaces are dropped; nothing else is rewritten: a BSUID is sent
    back exactly as WhatsApp gave it."""
    text = raw.strip()
    if not text:
        raise InvalidMessage(field, "is empty", code=SYNC.MANDATORY_MISSING)
    if not PATTERN.fullmatch(text):
        raise InvalidMessage(
            field,
            "is not a business-scoped user id: a two-letter country code in capitals, a period "
            "and up to 128 letters or digits (e.g. US.13491208655302741918)",
        )
    if len(text) > MAX_DESTINATION:
        raise InvalidMessage(field, f"is longer than {MAX_DESTINATION} characters")
    return text


def is_bsuid(value: object) -> TypeGuard[str]:
    """Whether a webhook's `user_id` is one we keep (its form, and at most `MAX_STORED` long)."""
    return (
        isinstance(value, str) and len(value) <= MAX_STORED and PATTERN.fullmatch(value) is not None
    )
