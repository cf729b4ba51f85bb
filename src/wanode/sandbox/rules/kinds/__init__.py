"""Meta's checks of each message body, written from cloud-api.md §1.2.

They are deliberately independent of `wanode.messages`: the sandbox is the peer that tells
whether what wanode renders is what Meta accepts, so it must not share wanode's reading.
"""

from wanode.sandbox.rules.kinds import contacts, interactive, location, media, template
from wanode.sandbox.rules.kinds.content import Content, KindCheck, MediaRef

__all__ = [
    "Content",
    "KindCheck",
    "MediaRef",
    "contacts",
    "interactive",
    "location",
    "media",
    "template",
]
