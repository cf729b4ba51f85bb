"""Summarise a `py-spy record -f raw` profile: the functions with the most samples, inclusive
(on the stack) and exclusive (on top), so a profile reads as text in a terminal or a report.

    py-spy record -p PID -d 30 -f raw -o wanode.txt
    python -m wanode.bench.pyspy_top wanode.txt [--top 40] [--filter wanode]
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^():]+)(?::\d+)?\)$")


def _short(frame: str) -> str:
    found = _FRAME.match(frame)
    if not found:
        return frame
    path = found["file"]
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{found['func']} ({path})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--filter", default="", help="only frames whose text contains this")
    args = parser.parse_args()
    inclusive: collections.Counter[str] = collections.Counter()
    exclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";") if f]
        if frames:
            exclusive[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    print(f"{total} samples")
    for title, counter in (("inclusive", inclusive), ("exclusive", exclusive)):
        print(f"\n-- {title} --")
        shown = 0
        for frame, n in counter.most_common():
            if args.filter and args.filter not in frame:
                continue
            print(f"{100 * n / total:6.1f}%  {frame}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
