"""How long an engine loop lets wake-ups gather before its next pass (`Engine._loop`).

A pass has a fixed cost whatever it carries (a transaction or three, a claim, task hand-offs),
so at a modest rate a loop that served every wake-up at once would pay it for one message at
a time: at 50 messages a second, that was most of what a message cost. A loop therefore waits
after a pass until `items` more are likely to have come at the rate its last pass found them,
between `shortest` and `longest`. Under a campaign the rate is high and the wait is `shortest`
(short passes: a long one holds up the API, which shares the event loop); at a trickle, one
message a second say, every wake-up still comes after the last pass's wait has run out and is
served at once.
"""

from __future__ import annotations

# Items a pass should carry for its fixed cost to be shared well: at 50 msg/s, the sends,
# statuses and DRs of 10 messages, or of 3-4 for statuses and DRs (three each per message).
PASS_ITEMS = 25


def next_spacing(
    found: int, since_last: float, *, shortest: float, longest: float, items: int = PASS_ITEMS
) -> float:
    """The spacing after a pass that found `found` items `since_last` seconds after the
    previous pass began: the time `items` take to come at that rate, within
    [`shortest`, `longest`]. A pass that found nothing (a poll) says nothing of a rate:
    `shortest`. A `longest` under `shortest` means a fixed `shortest`, and `shortest` 0
    means every wake-up is served at once."""
    if found <= 0 or since_last <= 0 or longest <= shortest or shortest <= 0:
        return max(shortest, 0.0)
    return min(longest, max(shortest, items * since_last / found))
