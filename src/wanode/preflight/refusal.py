"""Why a media file was refused: the codes reported for it and a reason naming the field."""

from __future__ import annotations

from dataclasses import dataclass

from wanode.codes import DR_CODES, DrCode, meta_code

MEDIA_DOWNLOAD_ERROR = 131052
# Meta reports a fetched file of the wrong type or size under its "upload" code.
MEDIA_TYPE_ERROR = 131053


@dataclass(frozen=True)
class Refusal:
    """A media file that must not be sent. `reason` never quotes the link: signed URLs carry
    credentials, and the reason is stored and reported to notify URLs."""

    dr: DrCode
    meta_code: int
    title: str
    reason: str
    field: str  # the payload path of the link, e.g. `image.link`

    @property
    def details(self) -> str:
        return f"{self.field}: {self.reason}"


def download_error(reason: str, *, field: str) -> Refusal:
    return Refusal(
        DR_CODES["7701"],
        MEDIA_DOWNLOAD_ERROR,
        meta_code(MEDIA_DOWNLOAD_ERROR).title,
        reason,
        field,
    )


def unsupported(reason: str, *, field: str) -> Refusal:
    return Refusal(
        DR_CODES["7861"], MEDIA_TYPE_ERROR, meta_code(MEDIA_TYPE_ERROR).title, reason, field
    )


def human_size(size: int) -> str:
    """`5 MB`, `100 KB`, `6.2 MB`: sizes as the spec writes them (1 KB = 1024 bytes)."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value.is_integer() else f"{value:.1f} {unit}"
    return f"{size} bytes"
