"""The identity key hash check (spec "Identity Hash Field"; cloud-api.md §6).

Advisory only: WhatsApp is the judge. A message carrying a stale hash is accepted by the
Cloud API and then fails with 137000, which the status processor reports as DR 7862. wanode's
own copy of the contact's hash is only the latest one it has *seen*, so it can lag behind a
hash the client learnt elsewhere; refusing on it could stop a message WhatsApp would deliver.
`check_send` therefore does not apply this check. The engine may use `identity_changed` to log
or warn before sending, and an app that wants to refuse early can apply `identity` itself.
"""

from __future__ import annotations

from wanode.codes import META_CODES
from wanode.codes.webex import HASH_MISMATCH
from wanode.policy.verdict import Policy, Verdict


def identity_changed(expected_hash: str | None, current_hash: str | None) -> bool:
    """Whether both hashes are known and differ. Empty strings count as unknown (DRs send "")."""
    return bool(expected_hash) and bool(current_hash) and expected_hash != current_hash


def identity(expected_hash: str | None, current_hash: str | None) -> Verdict:
    """Refused (7862 / 137000) only when the message's hash and the contact's known hash differ."""
    if not expected_hash:
        return Verdict.allow(Policy.IDENTITY, "no identity key hash on the message")
    if not current_hash:
        return Verdict.allow(
            Policy.IDENTITY, "the contact's current identity key hash is unknown; WhatsApp decides"
        )
    if identity_changed(expected_hash, current_hash):
        return Verdict.refuse(
            Policy.IDENTITY,
            HASH_MISMATCH,
            "identity_key_hash does not match the contact's current identity key hash; "
            "the number's owner or device has changed",
            field="identity_key_hash",
            meta=META_CODES[137000],
        )
    return Verdict.allow(Policy.IDENTITY, "identity key hash matches")
