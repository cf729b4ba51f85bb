"""The answer every policy gives: allowed, or refused with the codes to report."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wanode.codes import DrCode, MetaCode


class Policy(StrEnum):
    """Which check gave a verdict; the engine logs it and flows route refusals to onPolicyFail."""

    EXPIRY = "expiry"
    WINDOW = "window"
    OPT_IN = "opt_in"
    IDENTITY = "identity"


@dataclass(frozen=True, slots=True)
class Verdict:
    """`allowed`, or refused with `dr` (the delivery-report code to fail the message with).

    `sync` is the Messaging API code for the same refusal when one exists, `meta` the Cloud API
    error WhatsApp itself would have answered, `field` the request field the refusal is about.
    `reason` is for people: it says why, allowed or not. `policy` is None only for the
    combined verdict of `check_send` when every check passed.
    """

    allowed: bool
    reason: str
    policy: Policy | None = None
    dr: DrCode | None = None
    sync: str | None = None
    meta: MetaCode | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        if self.allowed == (self.dr is not None):
            raise ValueError("a refusal carries a DR code and an allowed verdict carries none")

    @classmethod
    def allow(cls, policy: Policy | None, reason: str) -> Verdict:
        return cls(True, reason, policy)

    @classmethod
    def refuse(
        cls,
        policy: Policy,
        dr: DrCode,
        reason: str,
        *,
        field: str,
        sync: str | None = None,
        meta: MetaCode | None = None,
    ) -> Verdict:
        return cls(False, reason, policy, dr, sync, meta, field)

    @property
    def code(self) -> str | None:
        """The DR code number of a refusal (`"7710"`), None when allowed."""
        return self.dr.code if self.dr is not None else None
