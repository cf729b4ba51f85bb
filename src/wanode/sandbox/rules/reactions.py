"""Reactions the business sends (cloud-api.md §1.2): the request's checks, and why an accepted
reaction then fails (the latter judged in `wanode.sandbox.platform.failures`).

At once (the send answers an error): the object must hold `message_id` (131008 when missing)
and `emoji` (131008), both strings (100), and nothing else (100).

After (a `failed` status with 131009, as Meta's "the reaction is not delivered"): the emoji is
not one emoji ("hello", ":)", two emoji), or the target is not a message of this conversation
(an unknown wamid, or a message of another business number or another user), is itself a
reaction, failed, or is older than 30 days.

Decisions (EMULATOR CHOICE):

- An empty `emoji` removes the business's reaction and is accepted: widely used, though none of
  the sources confirm it (§1.2).
- One emoji is one pictograph with its optional presentation selector, skin tone and tag
  sequence, several joined by zero-width joiners (a family, a profession), a flag (two regional
  indicators) or a keycap; the pictographs are the Unicode Extended_Pictographic blocks.
"""

from __future__ import annotations

from typing import Any

from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.rules.fields import obj, optional_string, string
from wanode.sandbox.rules.kinds import Content
from wanode.sandbox.rules.kinds.content import ReactionSend

PARAMETER_INVALID = 131009
MAX_AGE = 30 * 24 * 60 * 60

_ZWJ = 0x200D
_SELECTORS = (0xFE0E, 0xFE0F)
_KEYCAP = 0x20E3
_KEYCAP_BASES = frozenset(map(ord, "0123456789#*"))
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_REGIONAL = range(0x1F1E6, 0x1F200)
_TAGS = range(0xE0020, 0xE007F)
_CANCEL_TAG = 0xE007F
# Unicode's Extended_Pictographic code points, in ranges.
_PICTOGRAPHS = (
    range(0x00A9, 0x00AA),
    range(0x00AE, 0x00AF),
    range(0x203C, 0x203D),
    range(0x2049, 0x204A),
    range(0x2122, 0x2123),
    range(0x2139, 0x213A),
    range(0x2194, 0x219A),
    range(0x21A9, 0x21AB),
    range(0x231A, 0x231C),
    range(0x2328, 0x2329),
    range(0x2388, 0x2389),
    range(0x23CF, 0x23D0),
    range(0x23E9, 0x23F4),
    range(0x23F8, 0x23FB),
    range(0x24C2, 0x24C3),
    range(0x25AA, 0x25AC),
    range(0x25B6, 0x25B7),
    range(0x25C0, 0x25C1),
    range(0x25FB, 0x25FF),
    range(0x2600, 0x2800),
    range(0x2934, 0x2936),
    range(0x2B05, 0x2B08),
    range(0x2B1B, 0x2B1D),
    range(0x2B50, 0x2B51),
    range(0x2B55, 0x2B56),
    range(0x3030, 0x3031),
    range(0x303D, 0x303E),
    range(0x3297, 0x3298),
    range(0x3299, 0x329A),
    range(0x1F000, 0x1F100),
    range(0x1F10D, 0x1F110),
    range(0x1F12F, 0x1F130),
    range(0x1F16C, 0x1F172),
    range(0x1F17E, 0x1F180),
    range(0x1F18E, 0x1F18F),
    range(0x1F191, 0x1F19B),
    range(0x1F1AD, 0x1F1E6),
    range(0x1F201, 0x1F210),
    range(0x1F21A, 0x1F21B),
    range(0x1F22F, 0x1F230),
    range(0x1F232, 0x1F23B),
    range(0x1F23C, 0x1F240),
    range(0x1F249, 0x1F3FB),
    range(0x1F400, 0x1F53E),
    range(0x1F546, 0x1F650),
    range(0x1F680, 0x1F700),
    range(0x1F774, 0x1F780),
    range(0x1F7D5, 0x1F800),
    range(0x1F80C, 0x1F810),
    range(0x1F848, 0x1F850),
    range(0x1F85A, 0x1F860),
    range(0x1F888, 0x1F890),
    range(0x1F8AE, 0x1F900),
    range(0x1F90C, 0x1F93B),
    range(0x1F93C, 0x1F946),
    range(0x1F947, 0x1FB00),
    range(0x1FC00, 0x1FFFE),
)


def check(body: Any, config: SandboxConfig) -> Content:
    """The request's `reaction` object (checks that answer at once)."""
    reaction = obj(body, "reaction", ("message_id", "emoji"), required=("message_id", "emoji"))
    message_id = string(reaction["message_id"], "reaction.message_id")
    emoji = optional_string(reaction["emoji"], "reaction.emoji") or ""
    return Content(
        f"[reaction] {emoji or '(removed)'} to {message_id}",
        reaction=ReactionSend(message_id, emoji),
    )


def is_emoji(text: str) -> bool:
    """Whether `text` is exactly one emoji (see the module's doc)."""
    points = [ord(char) for char in text]
    if len(points) == 2 and all(point in _REGIONAL for point in points):
        return True  # a flag
    if points and points[0] in _KEYCAP_BASES:
        return points[1:] in ([_KEYCAP], [0xFE0F, _KEYCAP])
    parts: list[list[int]] = [[]]
    for point in points:
        if point == _ZWJ:
            parts.append([])
        else:
            parts[-1].append(point)
    return all(_one_pictograph(part) for part in parts)


def _one_pictograph(points: list[int]) -> bool:
    if not points or not _pictograph(points[0]):
        return False
    rest = points[1:]
    if rest and rest[0] in _SELECTORS:
        rest = rest[1:]
    if rest and rest[0] in _SKIN_TONES:
        rest = rest[1:]
    if rest and rest[-1] == _CANCEL_TAG and all(point in _TAGS for point in rest[:-1]):
        rest = []  # a subdivision flag: black flag, tag letters, cancel tag
    return not rest


def _pictograph(point: int) -> bool:
    return point in _SKIN_TONES or any(point in block for block in _PICTOGRAPHS)
