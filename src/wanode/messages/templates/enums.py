"""The closed vocabularies of a template, each open to values Meta adds later.

Meta's names are kept (upper case). `of()` reads a value from Graph JSON case-insensitively (Meta's
docs show lower case too) and maps anything it does not know to `UNKNOWN`, so a template read
back from Meta never fails on a new word; creating a template through wanode refuses `UNKNOWN`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class _Open(StrEnum):
    @classmethod
    def of(cls, value: object) -> Self:
        if isinstance(value, str):
            try:
                return cls(value.upper())
            except ValueError:
                pass
        return cls("UNKNOWN")


class TemplateStatus(_Open):
    """Review status (cloud-api.md §3.3). Only APPROVED templates can be sent."""

    APPROVED = "APPROVED"
    PENDING = "PENDING"
    REJECTED = "REJECTED"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"
    IN_APPEAL = "IN_APPEAL"
    PENDING_DELETION = "PENDING_DELETION"
    DELETED = "DELETED"
    ARCHIVED = "ARCHIVED"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    UNKNOWN = "UNKNOWN"


class TemplateCategory(_Open):
    MARKETING = "MARKETING"
    UTILITY = "UTILITY"
    AUTHENTICATION = "AUTHENTICATION"
    UNKNOWN = "UNKNOWN"


class ParameterFormat(_Open):
    """How variables are written: `{{1}}`, `{{2}}`... (POSITIONAL) or `{{first_name}}` (NAMED)."""

    POSITIONAL = "POSITIONAL"
    NAMED = "NAMED"
    UNKNOWN = "UNKNOWN"


class TemplateQuality(_Open):
    """Meta's quality rating (`quality_score.score`); UNKNOWN until Meta has rated it."""

    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    UNKNOWN = "UNKNOWN"


class HeaderFormat(_Open):
    TEXT = "TEXT"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    DOCUMENT = "DOCUMENT"
    LOCATION = "LOCATION"
    UNKNOWN = "UNKNOWN"


class OtpType(_Open):
    """How an authentication template hands over its code. ZERO_TAP is read, not created."""

    COPY_CODE = "COPY_CODE"
    ONE_TAP = "ONE_TAP"
    ZERO_TAP = "ZERO_TAP"
    UNKNOWN = "UNKNOWN"
