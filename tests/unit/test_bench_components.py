"""`wanode bench --profile` charges each py-spy sample to the component its stack runs in."""

from __future__ import annotations

from pathlib import Path

from wanode.bench.components import Profile, component

ROOT = (
    "<module> (wanode/__main__.py:3);serve (wanode/cli/main.py:128);"
    "Runner.run (asyncio/runners.py:118)"
)


def test_a_sample_is_charged_to_the_component_its_stack_runs_in() -> None:
    def on_loop(*frames: str) -> str:
        return component(";".join((ROOT, *frames)))

    assert on_loop("Engine._loop (wanode/engine/service.py:218)") == "other loops"
    assert (
        on_loop(
            "Engine._loop (wanode/engine/service.py:218)",
            "StatusProcessor.run_once (wanode/engine/processor.py:80)",
        )
        == "statuses"
    )
    assert on_loop("Dispatcher._send (wanode/engine/dispatcher.py:300)") == "dispatch (sends)"
    assert on_loop("Courier.pump (wanode/engine/courier.py:50)") == "DRs (notifier)"
    webhook = (
        "RequestResponseCycle.run_asgi (uvicorn/protocols/http/httptools_impl.py:401)",
        "receive (wanode/api/webhooks.py:90)",
        "StatusProcessor.parse (wanode/engine/processor.py:10)",
    )
    assert on_loop(*webhook) == "api: webhooks"
    assert on_loop(*webhook[:1]) == "api: HTTP server, framework"
    assert (
        on_loop(
            "GroupCommit._write (wanode/engine/group_commit.py:60)",
            "_enqueue_all (wanode/engine/submit.py:40)",
        )
        == "api: messaging"
    )
    assert component(ROOT) == "event loop"
    assert (
        component("Connection.execute (sqlalchemy/engine/base.py:1494)") == "SQL (caller not seen)"
    )
    assert component("Thread._bootstrap (threading.py:1002);run (threading.py:982)") == "threads"
    assert component("") == "other"


WORKER = (
    "Thread._bootstrap (threading.py:1032);Thread._bootstrap_inner (threading.py:1075);"
    "Thread.run (threading.py:1012);_worker (concurrent/futures/thread.py:90)"
)


def test_an_idle_thread_pool_worker_is_not_counted_but_its_work_is(tmp_path: Path) -> None:
    waiting = (
        WORKER,  # on the C SimpleQueue's get: no frame of its own
        f"{WORKER};get (queue.py:171);Condition.wait (threading.py:355)",
        f"{WORKER};Lock.acquire (threading.py:320)",
    )
    assert [component(stack) for stack in waiting] == [None, None, None]
    checkpoint = (
        f"{WORKER};_WorkItem.run (concurrent/futures/thread.py:59);"
        "Checkpointer._checkpoint (wanode/store/_inline_sqlite.py:84)"
    )
    assert component(checkpoint) == "threads"
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "".join(f"{stack} 5\n" for stack in waiting)
        + f"{checkpoint} 2\n{ROOT};Dispatcher._send (wanode/engine/dispatcher.py:300) 2\n"
    )
    profile = Profile()
    profile.read(raw)
    assert profile.samples == {"threads": 2, "dispatch (sends)": 2}
    assert profile.split(1.0)["samples"] == 4


def test_a_profile_shares_out_the_measured_cpu(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        f"{ROOT};Dispatcher._send (wanode/engine/dispatcher.py:300) 3\n"
        f"{ROOT};Courier.pump (wanode/engine/courier.py:50) 1\n"
        "not a sample line\n"
    )
    profile = Profile()
    profile.read(raw)
    assert profile.split(2.0) == {
        "samples": 4,
        "ms_per_msg": {"dispatch (sends)": 1.5, "DRs (notifier)": 0.5},
    }
    assert Profile(error="py-spy wrote nothing").split(2.0) == {
        "samples": 0,
        "error": "py-spy wrote nothing",
    }
