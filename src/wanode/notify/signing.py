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


# Delivery reports are signed as the Messaging API reference says (webex-connect.md §3):
# `x-hub-signature`, SHA-256 or SHA-512 over the raw body, keyed with the app's notify secret.
DR_SIGNATURE_HEADER: Final = "X-Hub-Signature"
DR_ALGORITHMS: Final = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


def dr_signature(body: bytes, secret: str, algorithm: str) -> str:
    """`sha256=<hex>` or `sha512=<hex>`: the HMAC of the exact body bytes."""
    return f"{algorithm}=" + hmac.new(secret.encode(), body, DR_ALGORITHMS[algorithm]).hexdigest()
