"""A started process's garbage-collector settings (wanode.cli.workers.freeze_startup_objects)."""

from __future__ import annotations

import json
import subprocess
import sys

from wanode.cli.workers import GC_THRESHOLDS


def test_a_started_process_freezes_its_objects_and_collects_young_ones_less_often() -> None:
    # In a process of its own: freezing and thresholds are the whole interpreter's state.
    code = (
        "import gc, json\n"
        "before = gc.get_threshold()\n"
        "from wanode.cli.workers import freeze_startup_objects\n"
        "freeze_startup_objects()\n"
        "print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count()]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    before, after, frozen = json.loads(out)
    assert tuple(before) == (700, 10, 10)
    assert tuple(after) == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > before[0]
    assert frozen > 10_000  # the modules' objects, out of the collector's sight
