"""Signing what wanode posts to subscribers, the way Meta signs its webhooks (cloud-api.md §4.2).

A receiver that already verifies WhatsApp's `X-Hub-Signature-256` verifies ours with the same
code, keyed with its subscription secret instead of the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SIGNATURE_HEADER: Final = "X-Hub-Signature-256"


def signature(body: bytes, secret: str) -> str:
    """`sha256=<lower-case hex HMAC-SHA256 of the exact body bytes>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
