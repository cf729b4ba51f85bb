"""The pure decision: may this file go out as a media message of this kind? No I/O here."""

from __future__ import annotations

from wanode.messages.media import MEDIA_RULES, MediaRule, canonical_mime_type
from wanode.preflight.mp4 import codec_problem
from wanode.preflight.refusal import Refusal, human_size, unsupported
from wanode.preflight.sniff import SAMPLE_BYTES, sniff
from wanode.preflight.sticker import check_sticker


def fetch_limit(kind: str) -> int:
    """Bytes worth reading: a file larger than this is too large for `kind` whatever it holds."""
    rule = MEDIA_RULES[kind]
    return max(rule.max_bytes, rule.max_animated_bytes or 0)


def sample_limit(kind: str) -> int:
    """Bytes `check_media` needs from the start of the file."""
    return fetch_limit(kind) if _whole_file_needed(kind, MEDIA_RULES[kind]) else SAMPLE_BYTES


def check_media(
    kind: str, mime_type: str | None, sample: bytes, size: int, *, field: str
) -> Refusal | None:
    """Check a file for a `kind` message that declares `mime_type` (None: any of the kind's).

    `sample` is the file's first `sample_limit(kind)` bytes (or all of a shorter file) and `size`
    its size in bytes. A size above `fetch_limit(kind)` may be where reading stopped.
    """
    rule = MEDIA_RULES[kind]
    if size == 0:
        return unsupported("the file is empty", field=field)
    if size > fetch_limit(kind):
        return unsupported(
            f"{kind} files may be at most {human_size(fetch_limit(kind))}; this one is larger",
            field=field,
        )
    sniffed = sniff(sample, complete=len(sample) >= size)
    if mime_type is not None:
        declared = canonical_mime_type(mime_type)
        if declared not in rule.formats:
            return unsupported(f"{declared} is not supported for {kind}", field=field)
        if not sniffed.extensions & set(rule.formats[declared]):
            return unsupported(
                f"the file is {sniffed.describe()} but the message says {declared}", field=field
            )
    elif not sniffed.extensions & set(rule.extensions):
        return unsupported(
            f"the file is {sniffed.describe()}, which is not supported for {kind}; "
            f"use one of {', '.join(rule.formats)}",
            field=field,
        )
    if kind == "video":
        problem = codec_problem(sample)
        return None if problem is None else unsupported(problem, field=field)
    if _whole_file_needed(kind, rule):
        return check_sticker(rule, sample, size, field=field)
    return None


def _whole_file_needed(kind: str, rule: MediaRule) -> bool:
    # Dimensions and animation are read by decoding the image, not from a fixed header; a
    # video's codecs are in its `moov` box, which is often written after the media data.
    return kind == "video" or rule.dimensions is not None or rule.max_animated_bytes is not None
