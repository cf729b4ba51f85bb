"""wanode's CPU by component, sampled from outside (`wanode bench --profile`).

`wanode serve` runs its API and every engine loop as tasks on one event loop in one thread, so
the process's CPU (/proc) cannot be split by loop, and timing each pass inside it would add
work to the hot path and still be wrong (a pass's awaits let the other loops run in between).
Instead py-spy samples the process's Python stacks from outside (100 a second; it stops the
process for each sample, a few tens of microseconds), and each sample is charged to the
component its stack runs in: the task's coroutines name it (a status pass runs in
`StatusProcessor.run_once`, a send in `Dispatcher._send`, a group commit's write in the
function that queued it). Shares of the samples, times wanode's measured CPU, give each
component's CPU per message.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

RATE = 100
_FILE = re.compile(r"\((?P<file>[^():]+)(?::\d+)?\)$")

# The first rule any frame of a sample matches (outermost first in the list) names its
# component. The API comes first: a request's stack holds the route and whatever it calls;
# a request's work outside its route (uvicorn, Starlette, FastAPI, the key check) is
# "api: HTTP server, framework".
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("api: webhooks", ("wanode/api/webhooks.py",)),
    ("api: messaging", ("wanode/api/messaging.py", "wanode/engine/submit.py")),
    ("dispatch (sends)", ("wanode/engine/dispatcher.py",)),
    ("statuses", ("wanode/engine/processor.py",)),
    ("DRs (notifier)", ("wanode/engine/notifier.py", "wanode/engine/courier.py")),
    (
        "api: HTTP server, framework",
        ("uvicorn/", "starlette/", "fastapi/", "wanode/cli/http_protocol.py"),
    ),
    ("other loops", ("wanode/engine/",)),
    ("HTTP client", ("wanode/http1.py",)),
)
# A sample whose innermost frame is the event loop's run call: uvloop's own C code.
EVENT_LOOP = "event loop"
# SQLAlchemy's async API runs each statement's sync code in a greenlet, whose stack py-spy
# reads without the coroutine that called it: SQL work whose component is not seen.
SQL = "SQL (caller not seen)"
# Threads beside the event loop (the SQLite driver's checkpoints, `to_thread` work).
THREADS = "threads"
# Anything else (the garbage collector, a stack py-spy could not read whole).
OTHER = "other"
# A thread-pool worker (`run_in_executor`, `to_thread`) waiting for its next work item: py-spy
# samples it all the same (its wait is on a C lock it cannot tell from work), but it costs no
# CPU. Such a sample's innermost frame is the worker's loop itself (the C `SimpleQueue.get`
# shows no frame) or the wait of a Python queue or lock.
_POOL_WORKER = "(concurrent/futures/thread.py"
_WAIT_FILES = ("(queue.py", "(threading.py")


def component(stack: str) -> str | None:
    """The component of one `py-spy -f raw` stack (frames joined by `;`, outermost first);
    None for an idle thread-pool worker, whose sample is not counted."""
    frames = stack.split(";")
    files = [found["file"] for frame in frames if (found := _FILE.search(frame))]
    for name, markers in RULES:
        if any(marker in path for path in files for marker in markers):
            return name
    if frames[-1].startswith("Runner.run "):
        return EVENT_LOOP
    if files and files[0].startswith("sqlalchemy/"):
        return SQL
    if frames[0].startswith("Thread._bootstrap "):
        return None if _idle_worker(frames) else THREADS
    return OTHER


def _idle_worker(frames: list[str]) -> bool:
    """Whether a thread's stack is a thread-pool worker waiting for work."""
    if not any(frame.startswith("_worker ") and _POOL_WORKER in frame for frame in frames):
        return False
    innermost = frames[-1]
    return innermost.startswith("_worker ") or any(wait in innermost for wait in _WAIT_FILES)


@dataclass
class Profile:
    """Samples by component, once the profiler stopped."""

    samples: collections.Counter[str] = field(default_factory=collections.Counter)
    error: str | None = None

    def read(self, path: Path) -> None:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit() and (name := component(stack)) is not None:
                self.samples[name] += int(count)

    def split(self, cpu_ms_per_msg: float) -> dict[str, object]:
        """`cpu_ms_per_msg` shared out by the samples' components (largest first)."""
        total = sum(self.samples.values())
        if not total:
            return {"samples": 0, "error": self.error or "no samples"}
        return {
            "samples": total,
            "ms_per_msg": {
                name: round(cpu_ms_per_msg * count / total, 3)
                for name, count in self.samples.most_common()
            },
        }


def py_spy() -> str:
    """The py-spy next to this interpreter (the dev extra installs it), or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    return found


@asynccontextmanager
async def profiled(pid: int, path: Path) -> AsyncIterator[Profile]:
    """Sample process `pid` while the block runs; the Profile is filled in when it ends. If
    py-spy cannot sample (it must be allowed to ptrace the process: root, CAP_SYS_PTRACE or
    kernel.yama.ptrace_scope 0), the Profile holds no samples and says why."""
    profile = Profile()
    process = await asyncio.create_subprocess_exec(
        *(py_spy(), "record", "-p", str(pid), "-r", str(RATE), "-f", "raw", "-o", str(path)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(0.5)  # attached
    try:
        yield profile
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            _, err = await asyncio.wait_for(process.communicate(), 30)
        except TimeoutError:
            process.kill()
            _, err = await process.communicate()
        try:
            await asyncio.to_thread(profile.read, path)
        except OSError:
            profile.error = f"py-spy wrote nothing: {err.decode(errors='replace')[-300:]}"
